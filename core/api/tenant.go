package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// TenantStore is what TenantService needs of the store.
type TenantStore interface {
	CreateTenant(ctx context.Context, t store.Tenant) (store.Tenant, error)
	GetTenant(ctx context.Context, id string) (store.Tenant, error)
	ListTenants(ctx context.Context) ([]store.Tenant, error)
	UpdateTenant(ctx context.Context, t store.Tenant) (store.Tenant, error)
	AddAppKey(ctx context.Context, k store.AppKey, secret string) (store.AppKey, error)
	ListAppKeys(ctx context.Context, tenantID string) ([]store.AppKey, error)
	RevokeAppKey(ctx context.Context, key string) error
	AuditReader
}

// TenantService implements callgatev1connect.TenantServiceHandler. It sits
// behind the admin interceptor. Its changes are audited with the actor
// "admin", in the same store transaction as the change (store.WithAudit).
type TenantService struct {
	store   TenantStore
	log     *slog.Logger
	changed LimitsChanged
}

// NewTenantService returns a TenantService.
func NewTenantService(s TenantStore, log *slog.Logger, changed LimitsChanged) *TenantService {
	return &TenantService{store: s, log: log, changed: changed}
}

// tenantID is what a tenant id may look like: it appears in URL paths.
var tenantID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// adminAudit returns ctx carrying the audit event of an operator's change,
// which the store records with the change itself.
func adminAudit(ctx context.Context, tenantID, action, target string, detail map[string]any) context.Context {
	return store.WithAudit(ctx, store.AuditEvent{TenantID: tenantID, Actor: AuditActorAdmin, Action: action,
		Target: target, Detail: detail, RequestID: reqid.From(ctx)})
}

// CreateTenant adds a tenant, a sub-tenant when parent_id names its
// (top-level) parent.
func (s *TenantService) CreateTenant(ctx context.Context, req *connect.Request[callgatev1.CreateTenantRequest]) (*connect.Response[callgatev1.CreateTenantResponse], error) {
	t := req.Msg.GetTenant()
	if !tenantID.MatchString(t.GetId()) {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue,
			"tenant.id must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit"))
	}
	detail := map[string]any{"name": t.GetName()}
	if t.GetParentId() != "" {
		detail["parentId"] = t.GetParentId()
	}
	ctx = adminAudit(ctx, t.GetId(), AuditTenantCreate, t.GetId(), detail)
	created, err := s.store.CreateTenant(ctx, store.Tenant{ID: t.GetId(), Name: t.GetName(), ParentID: t.GetParentId()})
	switch {
	case errors.Is(err, store.ErrExists):
		return nil, apierr.ToConnect(apierr.New(apierr.ResourceInUse, "tenant %q already exists", t.GetId()))
	case errors.Is(err, store.ErrNotFound):
		return nil, apierr.ToConnect(apierr.New(apierr.TenantNotFound, "parent tenant %q does not exist", t.GetParentId()))
	case errors.Is(err, store.ErrNestedTenant):
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue,
			"tenant %q is itself a sub-tenant: sub-tenants are one level deep", t.GetParentId()))
	case err != nil:
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.log.InfoContext(ctx, "tenant created", "request_id", reqid.From(ctx), "tenant", created.ID, "parent", created.ParentID)
	return connect.NewResponse(&callgatev1.CreateTenantResponse{Tenant: tenantProto(created)}), nil
}

// ListTenants lists every tenant.
func (s *TenantService) ListTenants(ctx context.Context, _ *connect.Request[callgatev1.ListTenantsRequest]) (*connect.Response[callgatev1.ListTenantsResponse], error) {
	ts, err := s.store.ListTenants(ctx)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.ListTenantsResponse{}
	for _, t := range ts {
		out.Tenants = append(out.Tenants, tenantProto(t))
	}
	return connect.NewResponse(out), nil
}

// CreateAppKey makes an app key and its secret; the secret is answered
// this once and only its hash is kept. An agent key may also act for the
// tenant's sub-tenants.
func (s *TenantService) CreateAppKey(ctx context.Context, req *connect.Request[callgatev1.CreateAppKeyRequest]) (*connect.Response[callgatev1.CreateAppKeyResponse], error) {
	key, secret := "ak_"+randomString(12), "sk_"+randomString(32)
	ctx = adminAudit(ctx, req.Msg.GetTenantId(), AuditAppKeyCreate, key, map[string]any{"agent": req.Msg.GetAgent()})
	k, err := s.store.AddAppKey(ctx, store.AppKey{TenantID: req.Msg.GetTenantId(), Key: key, Agent: req.Msg.GetAgent()}, secret)
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.TenantNotFound, "tenant %q does not exist", req.Msg.GetTenantId()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.log.InfoContext(ctx, "app key created", "request_id", reqid.From(ctx), "tenant", k.TenantID, "app_key", k.Key, "agent", k.Agent)
	return connect.NewResponse(&callgatev1.CreateAppKeyResponse{AppKey: k.Key, Secret: secret}), nil
}

// ListAppKeys lists a tenant's app keys, never their secrets.
func (s *TenantService) ListAppKeys(ctx context.Context, req *connect.Request[callgatev1.ListAppKeysRequest]) (*connect.Response[callgatev1.ListAppKeysResponse], error) {
	if _, err := s.store.GetTenant(ctx, req.Msg.GetTenantId()); errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.TenantNotFound, "tenant %q does not exist", req.Msg.GetTenantId()))
	} else if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	ks, err := s.store.ListAppKeys(ctx, req.Msg.GetTenantId())
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.ListAppKeysResponse{}
	for _, k := range ks {
		out.AppKeys = append(out.AppKeys, &callgatev1.AppKey{
			AppKey: k.Key, TenantId: k.TenantID, CreateTime: timestamppb.New(k.CreatedAt), Revoked: k.Revoked, Agent: k.Agent,
		})
	}
	return connect.NewResponse(out), nil
}

// RevokeAppKey stops an app key's secret from working.
func (s *TenantService) RevokeAppKey(ctx context.Context, req *connect.Request[callgatev1.RevokeAppKeyRequest]) (*connect.Response[callgatev1.RevokeAppKeyResponse], error) {
	// The store fills in the key's tenant.
	ctx = adminAudit(ctx, "", AuditAppKeyRevoke, req.Msg.GetAppKey(), nil)
	err := s.store.RevokeAppKey(ctx, req.Msg.GetAppKey())
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.ResourceNotFound+".AppKey", "no live app key %q", req.Msg.GetAppKey()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.log.InfoContext(ctx, "app key revoked", "request_id", reqid.From(ctx), "app_key", req.Msg.GetAppKey())
	return connect.NewResponse(&callgatev1.RevokeAppKeyResponse{}), nil
}

func tenantProto(t store.Tenant) *callgatev1.Tenant {
	return &callgatev1.Tenant{Id: t.ID, Name: t.Name, CreateTime: timestamppb.New(t.CreatedAt), ParentId: t.ParentID,
		Limits: &callgatev1.TenantLimits{
			IngestRate: t.Limits.IngestRate, IngestBurst: int32(t.Limits.IngestBurst),
			ManageRate: t.Limits.ManageRate, ManageBurst: int32(t.Limits.ManageBurst),
			RuleTimeMs: int32(t.Limits.RuleTimeMs), RuleMemoryMib: int32(t.Limits.RuleMemoryMiB),
			RuleOutputKib: int32(t.Limits.RuleOutputKiB),
		},
		Retry: retryProto(t.Limits.Retry),
	}
}

// LimitsChanged hears that a tenant's limits changed.
type LimitsChanged interface {
	Forget(tenantID string)
}

// UpdateTenant changes a tenant's name and its own rate limits.
func (s *TenantService) UpdateTenant(ctx context.Context, req *connect.Request[callgatev1.UpdateTenantRequest]) (*connect.Response[callgatev1.UpdateTenantResponse], error) {
	t := req.Msg.GetTenant()
	l := t.GetLimits()
	if l.GetIngestBurst() < 0 || l.GetManageBurst() < 0 {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue, "bursts must not be negative"))
	}
	if l.GetRuleTimeMs() < 0 || l.GetRuleTimeMs() > 1000 {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue, "ruleTimeMs must be between 0 and 1000"))
	}
	if l.GetRuleMemoryMib() < 0 || l.GetRuleMemoryMib() > 256 {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue, "ruleMemoryMib must be between 0 and 256"))
	}
	if l.GetRuleOutputKib() < 0 || l.GetRuleOutputKib() > 16384 {
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue, "ruleOutputKib must be between 0 and 16384"))
	}
	retry, err := retryOf(t.GetRetry())
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	ctx = adminAudit(ctx, t.GetId(), AuditTenantUpdate, t.GetId(), updateDetail(t))
	updated, err := s.store.UpdateTenant(ctx, store.Tenant{ID: t.GetId(), Name: t.GetName(), Limits: store.TenantLimits{
		IngestRate: l.GetIngestRate(), IngestBurst: int(l.GetIngestBurst()),
		ManageRate: l.GetManageRate(), ManageBurst: int(l.GetManageBurst()),
		RuleTimeMs: int(l.GetRuleTimeMs()), RuleMemoryMiB: int(l.GetRuleMemoryMib()),
		RuleOutputKiB: int(l.GetRuleOutputKib()), Retry: retry,
	}})
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.TenantNotFound, "tenant %q does not exist", t.GetId()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	if s.changed != nil {
		s.changed.Forget(updated.ID)
	}
	s.log.InfoContext(ctx, "tenant updated", "request_id", reqid.From(ctx), "tenant", updated.ID, "limits", updated.Limits)
	return connect.NewResponse(&callgatev1.UpdateTenantResponse{Tenant: tenantProto(updated)}), nil
}

// updateDetail is what the audit log keeps of an UpdateTenant: what was
// asked for, in the API's JSON form (a tenant holds no secret).
func updateDetail(t *callgatev1.Tenant) map[string]any {
	d := map[string]any{}
	if b, err := protojson.Marshal(t); err == nil {
		_ = json.Unmarshal(b, &d)
	}
	for _, k := range []string{"id", "createTime", "parentId"} {
		delete(d, k)
	}
	return d
}

// ListAuditEvents lists the changes of one tenant, or of every tenant.
func (s *TenantService) ListAuditEvents(ctx context.Context, req *connect.Request[callgatev1.ListAuditEventsRequest]) (*connect.Response[callgatev1.ListAuditEventsResponse], error) {
	out, err := listAudit(ctx, s.store, req.Msg.GetTenantId(), req.Msg)
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	return connect.NewResponse(out), nil
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("read random bytes: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

var _ callgatev1connect.TenantServiceHandler = (*TenantService)(nil)
