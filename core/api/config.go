// Package api serves callgate's management API over Connect: callback
// configs, deliveries, channels and (for the operator) tenants.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"

	"connectrpc.com/connect"
	"golang.org/x/net/http/httpguts"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// ConfigStore is what ConfigService needs of the store: configs, tenants
// (to check an agent's sub-tenant) and the audit log.
type ConfigStore interface {
	AddCallbackConfig(ctx context.Context, c store.CallbackConfig) (store.CallbackConfig, error)
	DeleteCallbackConfigByURL(ctx context.Context, tenantID, url string) (string, error)
	ListCallbackConfigs(ctx context.Context, tenantID string) ([]store.CallbackConfig, error)
	EnableCallbackConfig(ctx context.Context, tenantID, id string) (store.CallbackConfig, error)
	SetCallbackConfigPolicy(ctx context.Context, tenantID, id string, p store.DeliveryPolicy) (store.CallbackConfig, error)
	auth.TenantStore
	AuditLog
	AuditReader
}

// The seed's operate types.
const (
	operateAdd    = 1
	operateDelete = 2
)

// configNotFoundMessage is the seed's own message for deleting a URL that
// has no config ("the configuration does not exist"); clients of the seed
// API may match on it.
const configNotFoundMessage = "当前配置不存在"

// ConfigService implements callgatev1connect.ConfigServiceHandler with the
// semantics of ModifyApplicationCallbackInfo.
type ConfigService struct {
	store   ConfigStore
	log     *slog.Logger
	changed ConfigsChanged // see NotifyChanges
}

// NewConfigService returns a ConfigService.
func NewConfigService(s ConfigStore, log *slog.Logger) *ConfigService {
	return &ConfigService{store: s, log: log}
}

// ModifyCallbackConfig adds (operateType 1) a config for a URL the tenant
// does not have yet, or deletes (2) the config with that URL. An agent key
// may name one of its tenant's sub-tenants in agent to act for it.
func (s *ConfigService) ModifyCallbackConfig(ctx context.Context, req *connect.Request[callgatev1.ModifyCallbackConfigRequest]) (*connect.Response[callgatev1.ModifyCallbackConfigResponse], error) {
	m := req.Msg
	p, err := s.actFor(ctx, m.GetAgent())
	if err != nil {
		return nil, err
	}
	info := m.GetCallbackInfo()
	if info == nil || info.GetCallbackUrl() == "" {
		return nil, apierr.ToConnect(apierr.New(apierr.ParamError, "callbackInfo.callbackUrl is required"))
	}
	rid := reqid.From(ctx)
	switch m.GetOperateType() {
	case operateAdd:
		if err := validateConfig(info); err != nil {
			return nil, apierr.ToConnect(err)
		}
		policy, err := policyOf(info.GetRetry(), info.GetRate())
		if err != nil {
			return nil, apierr.ToConnect(err)
		}
		in := store.CallbackConfig{
			TenantID: p.TenantID, URL: info.GetCallbackUrl(), Key: info.GetCallbackKey(),
			Token: info.GetCallbackToken(), Operator: m.GetOperator().GetUserId(),
			Auth:   store.EndpointAuth{Headers: info.GetHeaders(), BasicAuth: info.GetBasicAuth(), OAuth2: oauth2Of(info)},
			Policy: policy,
		}
		// Recorded in the same transaction as the config, with its new id.
		actx := store.WithAudit(ctx, auditBy(ctx, p, AuditConfigAdd, "", ConfigAuditDetail(in)))
		c, err := s.store.AddCallbackConfig(actx, in)
		if errors.Is(err, store.ErrExists) {
			// The seed adds only URLs not yet present: adding one again
			// changes nothing and is not an error.
			id, lerr := s.configIDByURL(ctx, p.TenantID, info.GetCallbackUrl())
			if lerr != nil {
				return nil, apierr.ToConnect(apierr.Internal(lerr))
			}
			s.log.InfoContext(ctx, "callback config already present", "request_id", rid, "tenant", p.TenantID, "config_id", id)
			return connect.NewResponse(&callgatev1.ModifyCallbackConfigResponse{RequestId: rid, ConfigId: id}), nil
		}
		if err != nil {
			return nil, apierr.ToConnect(apierr.Internal(err))
		}
		s.log.InfoContext(ctx, "callback config added", "request_id", rid, "tenant", p.TenantID, "actor", p.Actor(),
			"config_id", c.ID, "operator", c.Operator, "signed", c.Token != "", "encrypted", c.Key != "")
		return connect.NewResponse(&callgatev1.ModifyCallbackConfigResponse{RequestId: rid, ConfigId: c.ID}), nil
	case operateDelete:
		detail := map[string]any{"url": info.GetCallbackUrl()}
		if op := m.GetOperator().GetUserId(); op != "" {
			detail["operator"] = op
		}
		// Recorded in the same transaction as the delete, with the id.
		actx := store.WithAudit(ctx, auditBy(ctx, p, AuditConfigDelete, "", detail))
		id, err := s.store.DeleteCallbackConfigByURL(actx, p.TenantID, info.GetCallbackUrl())
		if errors.Is(err, store.ErrNotFound) {
			return nil, apierr.ToConnect(apierr.New(apierr.FailedOperation, configNotFoundMessage))
		}
		if err != nil {
			return nil, apierr.ToConnect(apierr.Internal(err))
		}
		s.notify(p.TenantID, id, true)
		s.log.InfoContext(ctx, "callback config deleted", "request_id", rid, "tenant", p.TenantID, "actor", p.Actor(),
			"config_id", id, "operator", m.GetOperator().GetUserId())
		return connect.NewResponse(&callgatev1.ModifyCallbackConfigResponse{RequestId: rid, ConfigId: id}), nil
	default:
		return nil, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue,
			"operateType must be 1 (add) or 2 (delete), not %d", m.GetOperateType()))
	}
}

func (s *ConfigService) configIDByURL(ctx context.Context, tenantID, u string) (string, error) {
	cs, err := s.store.ListCallbackConfigs(ctx, tenantID)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.URL == u {
			return c.ID, nil
		}
	}
	return "", fmt.Errorf("config for %q vanished", u)
}

// validateConfig checks what the seed requires of a config to add.
func validateConfig(info *callgatev1.CallbackInfo) error {
	raw := info.GetCallbackUrl()
	if len(raw) > 2048 {
		return apierr.New(apierr.InvalidParameterValue, "callbackUrl is longer than 2048 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return apierr.New(apierr.InvalidParameterValue, "callbackUrl must be an absolute http or https URL")
	}
	if u.User != nil {
		return apierr.New(apierr.InvalidParameterValue, "callbackUrl must not carry credentials")
	}
	if u.Fragment != "" || strings.ContainsAny(raw, " \t\r\n") {
		return apierr.New(apierr.InvalidParameterValue, "callbackUrl must not have a fragment or spaces")
	}
	if k := info.GetCallbackKey(); k != "" && len(k) != 32 {
		return apierr.New(apierr.InvalidParameterValue, "callbackKey must be 32 bytes (AES-256), not %d", len(k))
	}
	if len(info.GetCallbackToken()) > 256 {
		return apierr.New(apierr.InvalidParameterValue, "callbackToken is longer than 256 characters")
	}
	if len(info.GetHeaders()) > 20 {
		return apierr.New(apierr.InvalidParameterValue, "at most 20 headers")
	}
	for name, value := range info.GetHeaders() {
		if !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) || len(value) > 4096 {
			return apierr.New(apierr.InvalidParameterValue, "header %q is not a valid HTTP header", name)
		}
		switch strings.ToLower(name) {
		case "host", "content-length", "content-type", "webhook-id", "webhook-timestamp", "webhook-signature",
			"content-signature", "transfer-encoding", "connection":
			return apierr.New(apierr.InvalidParameterValue, "header %q is set by callgate itself", name)
		}
	}
	if b := info.GetBasicAuth(); b != "" && !strings.Contains(b, ":") {
		return apierr.New(apierr.InvalidParameterValue, `basicAuth must be "user:password"`)
	}
	if o := info.GetOauth2(); o != nil {
		u, err := url.Parse(o.GetTokenUrl())
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || o.GetClientId() == "" {
			return apierr.New(apierr.InvalidParameterValue, "oauth2 needs an http(s) tokenUrl and a clientId")
		}
		if info.GetBasicAuth() != "" {
			return apierr.New(apierr.InvalidParameterValue, "basicAuth and oauth2 both set the Authorization header: choose one")
		}
	}
	return nil
}

// ListCallbackConfigs shows the tenant its configs, never their secrets.
func (s *ConfigService) ListCallbackConfigs(ctx context.Context, req *connect.Request[callgatev1.ListCallbackConfigsRequest]) (*connect.Response[callgatev1.ListCallbackConfigsResponse], error) {
	p, err := s.actFor(ctx, req.Msg.GetAgent())
	if err != nil {
		return nil, err
	}
	cs, err := s.store.ListCallbackConfigs(ctx, p.TenantID)
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	out := &callgatev1.ListCallbackConfigsResponse{RequestId: reqid.From(ctx)}
	for _, c := range cs {
		out.Configs = append(out.Configs, configProto(c))
	}
	return connect.NewResponse(out), nil
}

func configProto(c store.CallbackConfig) *callgatev1.CallbackConfig {
	return &callgatev1.CallbackConfig{
		Id:               c.ID,
		CallbackUrl:      c.URL,
		HasCallbackKey:   c.Key != "",
		HasCallbackToken: c.Token != "",
		CreateTime:       timestamppb.New(c.CreatedAt),
		Disabled:         c.Disabled,
		DisabledReason:   c.DisabledReason,
		HeaderNames:      slices.Sorted(maps.Keys(c.Auth.Headers)),
		HasBasicAuth:     c.Auth.BasicAuth != "",
		HasOauth2:        c.Auth.OAuth2 != nil,
		Retry:            retryProto(c.Policy.Retry),
		Rate:             rateProto(c.Policy.Rate),
	}
}

// EnableCallbackConfig sends to a disabled config again.
func (s *ConfigService) EnableCallbackConfig(ctx context.Context, req *connect.Request[callgatev1.EnableCallbackConfigRequest]) (*connect.Response[callgatev1.EnableCallbackConfigResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.store.EnableCallbackConfig(ctx, p.TenantID, req.Msg.GetId())
	if errors.Is(err, store.ErrNotFound) {
		return nil, apierr.ToConnect(apierr.New(apierr.ResourceNotFound+".CallbackConfig", "no callback config %q", req.Msg.GetId()))
	}
	if err != nil {
		return nil, apierr.ToConnect(apierr.Internal(err))
	}
	s.log.InfoContext(ctx, "callback config enabled", "request_id", reqid.From(ctx), "tenant", p.TenantID, "config_id", c.ID)
	recordAudit(ctx, s.log, s.store, auditBy(ctx, p, AuditConfigEnable, c.ID, map[string]any{"url": c.URL}))
	return connect.NewResponse(&callgatev1.EnableCallbackConfigResponse{Config: configProto(c)}), nil
}

// ListAuditEvents lists the tenant's own audit log.
func (s *ConfigService) ListAuditEvents(ctx context.Context, req *connect.Request[callgatev1.ListAuditEventsRequest]) (*connect.Response[callgatev1.ListAuditEventsResponse], error) {
	p, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	if id := req.Msg.GetTenantId(); id != "" && id != p.TenantID {
		// The same answer whether or not the tenant exists.
		return nil, apierr.ToConnect(apierr.New(apierr.Forbidden,
			"a tenant reads its own audit log only (an agent key names a sub-tenant in %s)", auth.ProxyHeader))
	}
	out, err := listAudit(ctx, s.store, p.TenantID, req.Msg)
	if err != nil {
		return nil, apierr.ToConnect(err)
	}
	return connect.NewResponse(out), nil
}

func tenant(ctx context.Context) (auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return auth.Principal{}, apierr.ToConnect(apierr.New(apierr.Unauthorized, "missing credentials"))
	}
	return p, nil
}

// actFor is the caller's principal, acting for the organisation the
// seed's Agent names when it names one (see auth.ActFor). The header
// (auth.ProxyHeader) and agent may both be given, but must then agree.
func (s *ConfigService) actFor(ctx context.Context, agent *callgatev1.Agent) (auth.Principal, error) {
	p, err := tenant(ctx)
	if err != nil {
		return auth.Principal{}, err
	}
	org := agent.GetProxyOrganizationId()
	if org == "" || org == p.TenantID {
		return p, nil
	}
	if p.Acting() {
		return auth.Principal{}, apierr.ToConnect(apierr.New(apierr.InvalidParameterValue,
			"agent.proxyOrganizationId %q and the %s header %q name different organisations", org, auth.ProxyHeader, p.TenantID))
	}
	p, err = auth.ActFor(ctx, s.store, p, org)
	if err != nil {
		return auth.Principal{}, apierr.ToConnect(err)
	}
	return p, nil
}

var _ callgatev1connect.ConfigServiceHandler = (*ConfigService)(nil)

func oauth2Of(info *callgatev1.CallbackInfo) *store.OAuth2 {
	o := info.GetOauth2()
	if o == nil {
		return nil
	}
	return &store.OAuth2{TokenURL: o.GetTokenUrl(), ClientID: o.GetClientId(), ClientSecret: o.GetClientSecret(), Scope: o.GetScope()}
}
