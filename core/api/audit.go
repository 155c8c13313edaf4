package api

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"

	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// The actions of the audit log, as "<object>.<verb>".
const (
	AuditConfigAdd     = "config.add"
	AuditConfigDelete  = "config.delete"
	AuditConfigEnable  = "config.enable"
	AuditChannelPut    = "channel.put"
	AuditChannelDelete = "channel.delete"
	AuditRulePut       = "rule.put"
	AuditRuleActivate  = "rule.activate"
	AuditRuleDelete    = "rule.delete"
	AuditTenantCreate  = "tenant.create"
	AuditTenantUpdate  = "tenant.update"
	AuditAppKeyCreate  = "appkey.create"
	AuditAppKeyRevoke  = "appkey.revoke"
	// AuditConfigPolicy is for SetCallbackConfigPolicy.
	AuditConfigPolicy = "config.policy"
)

// The actors that are not app keys.
const (
	AuditActorAdmin      = "admin"       // the admin token
	AuditActorConfigFile = "config-file" // the declarative configuration, applied at start
)

// AuditLog records changes; *store.Store is one.
type AuditLog interface {
	RecordAudit(ctx context.Context, ev store.AuditEvent) error
}

// AuditReader lists recorded changes; *store.Store is one.
type AuditReader interface {
	ListAuditEvents(ctx context.Context, f store.AuditFilter) ([]store.AuditEvent, error)
}

// auditBy is the event of a change p made in this request.
func auditBy(ctx context.Context, p auth.Principal, action, target string, detail map[string]any) store.AuditEvent {
	return store.AuditEvent{TenantID: p.TenantID, Actor: p.Actor(), Action: action, Target: target,
		Detail: detail, RequestID: reqid.From(ctx)}
}

// recordAudit records the event of a change already committed. The store
// writes it in a transaction of its own, so a failure here cannot undo the
// change: it is logged, and the caller still hears of its success.
func recordAudit(ctx context.Context, log *slog.Logger, a AuditLog, ev store.AuditEvent) {
	// The change is made: the event is written even if the caller has gone.
	if err := a.RecordAudit(context.WithoutCancel(ctx), ev); err != nil {
		log.ErrorContext(ctx, "audit event lost", "request_id", ev.RequestID, "tenant", ev.TenantID,
			"action", ev.Action, "target", ev.Target, "error", err)
	}
}

// ConfigAuditDetail is what the audit log keeps of a callback config:
// never its key, token, header values or credentials, only whether they
// are set.
func ConfigAuditDetail(c store.CallbackConfig) map[string]any {
	d := map[string]any{"url": c.URL, "signed": c.Token != "", "encrypted": c.Key != ""}
	if c.Operator != "" {
		d["operator"] = c.Operator
	}
	if len(c.Auth.Headers) > 0 {
		d["headerNames"] = slices.Sorted(maps.Keys(c.Auth.Headers))
	}
	if c.Auth.BasicAuth != "" {
		d["basicAuth"] = true
	}
	if c.Auth.OAuth2 != nil {
		d["oauth2TokenUrl"] = c.Auth.OAuth2.TokenURL
	}
	return d
}

// ChannelAuditDetail is what the audit log keeps of a channel: its plugin
// and the names of its settings, never their values, some of which are
// secrets.
func ChannelAuditDetail(c store.Channel) map[string]any {
	return map[string]any{"plugin": c.Plugin, "settings": slices.Sorted(maps.Keys(c.Settings))}
}

// RuleAuditDetail is what the audit log keeps of a rule version.
func RuleAuditDetail(rv store.RuleVersion) map[string]any {
	return map[string]any{"version": rv.Version, "sha256": rv.SHA256, "active": rv.Active}
}

// listAudit answers a ListAuditEvents request for tenantID ("" for every
// tenant).
func listAudit(ctx context.Context, r AuditReader, tenantID string, m *callgatev1.ListAuditEventsRequest) (*callgatev1.ListAuditEventsResponse, error) {
	f := store.AuditFilter{TenantID: tenantID, After: m.GetPageToken(), Limit: int(m.GetPageSize())}
	switch {
	case f.Limit <= 0:
		f.Limit = 50
	case f.Limit > 500:
		f.Limit = 500
	}
	if m.GetBefore() != nil {
		f.Before = m.GetBefore().AsTime()
	}
	evs, err := r.ListAuditEvents(ctx, f)
	if errors.Is(err, store.ErrInvalidCursor) {
		return nil, apierr.New(apierr.InvalidParameterValue, "pageToken is not one this API gave")
	}
	if err != nil {
		return nil, apierr.Internal(err)
	}
	out := &callgatev1.ListAuditEventsResponse{}
	for _, ev := range evs {
		pe := &callgatev1.AuditEvent{Id: ev.ID, TenantId: ev.TenantID, Actor: ev.Actor, Action: ev.Action,
			Target: ev.Target, RequestId: ev.RequestID, Time: timestamppb.New(ev.At)}
		if len(ev.Detail) > 0 {
			if pe.Detail, err = structpb.NewStruct(ev.Detail); err != nil {
				return nil, apierr.Internal(err)
			}
		}
		out.Events = append(out.Events, pe)
	}
	if len(evs) == f.Limit {
		out.NextPageToken = store.AuditCursor(evs[len(evs)-1])
	}
	return out, nil
}
