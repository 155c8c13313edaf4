package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/store"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		name      string
		header    []string // Authorization values; none when nil
		wantToken string
		wantOK    bool
	}{
		{name: "bearer", header: []string{"Bearer s3cret"}, wantToken: "s3cret", wantOK: true},
		{name: "scheme_lower_case", header: []string{"bearer s3cret"}, wantToken: "s3cret", wantOK: true},
		{name: "scheme_upper_case", header: []string{"BEARER s3cret"}, wantToken: "s3cret", wantOK: true},
		{name: "scheme_mixed_case", header: []string{"bEaReR s3cret"}, wantToken: "s3cret", wantOK: true},
		{name: "extra_spaces_before_token", header: []string{"Bearer    s3cret"}, wantToken: "s3cret", wantOK: true},
		{name: "trailing_spaces", header: []string{"Bearer s3cret   "}, wantToken: "s3cret", wantOK: true},
		{name: "token68_characters", header: []string{"Bearer a-b_c.d~e+f/g=="}, wantToken: "a-b_c.d~e+f/g==", wantOK: true},
		{name: "first_of_two_headers", header: []string{"Bearer one", "Bearer two"}, wantToken: "one", wantOK: true},
		{name: "missing"},
		{name: "empty_value", header: []string{""}},
		{name: "scheme_only", header: []string{"Bearer"}},
		{name: "scheme_and_space", header: []string{"Bearer "}},
		{name: "scheme_and_spaces", header: []string{"Bearer     "}},
		{name: "token_without_scheme", header: []string{"s3cret"}},
		{name: "basic_scheme", header: []string{"Basic dXNlcjpwYXNz"}},
		{name: "scheme_prefix_only", header: []string{"Bearers s3cret"}},
		{name: "scheme_glued_to_token", header: []string{"Bearers3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.header {
				h.Add("Authorization", v)
			}
			token, ok := auth.BearerToken(h)
			if token != tt.wantToken || ok != tt.wantOK {
				t.Errorf("BearerToken(%q) = %q, %v; want %q, %v", tt.header, token, ok, tt.wantToken, tt.wantOK)
			}
		})
	}
}

// openStore makes a real store with tenant t1, its live key k1 and its
// revoked key k0.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := t.Context()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateTenant(ctx, store.Tenant{ID: "t1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppKey(ctx, "t1", "k1", "live-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppKey(ctx, "t1", "k0", "old-secret"); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAppKey(ctx, "k0"); err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(v string) http.Header {
	h := http.Header{}
	if v != "" {
		h.Set("Authorization", v)
	}
	return h
}

// checkCode checks that err is an *apierr.Error with code.
func checkCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae *apierr.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Errorf("error = %v, want code %s", err, code)
	}
}

func TestTenant(t *testing.T) {
	a := auth.New(openStore(t), "admin-token")
	tests := []struct {
		name     string
		header   http.Header
		want     auth.Principal
		wantCode string // empty: authenticated
	}{
		{name: "valid", header: bearer("Bearer live-secret"), want: auth.Principal{TenantID: "t1", AppKey: "k1", KeyTenantID: "t1"}},
		{name: "valid_lower_case_scheme", header: bearer("bearer live-secret"), want: auth.Principal{TenantID: "t1", AppKey: "k1", KeyTenantID: "t1"}},
		{name: "revoked", header: bearer("Bearer old-secret"), wantCode: apierr.Unauthorized},
		{name: "wrong", header: bearer("Bearer live-secret2"), wantCode: apierr.Unauthorized},
		{name: "app_key_is_not_the_secret", header: bearer("Bearer k1"), wantCode: apierr.Unauthorized},
		{name: "admin_token_is_not_a_tenant", header: bearer("Bearer admin-token"), wantCode: apierr.Unauthorized},
		{name: "missing", header: bearer(""), wantCode: apierr.Unauthorized},
		{name: "basic", header: bearer("Basic bGl2ZS1zZWNyZXQ="), wantCode: apierr.Unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Tenant(t.Context(), tt.header)
			if tt.wantCode != "" {
				checkCode(t, err, tt.wantCode)
				if p != (auth.Principal{}) {
					t.Errorf("refused, yet principal %+v", p)
				}
				return
			}
			if err != nil || p != tt.want {
				t.Errorf("Tenant = %+v, %v; want %+v", p, err, tt.want)
			}
		})
	}
}

// TestTenantStoreDown: a store failure is internal, not a refusal of the
// credentials.
func TestTenantStoreDown(t *testing.T) {
	s := openStore(t)
	a := auth.New(s, "")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := a.Tenant(t.Context(), bearer("Bearer live-secret"))
	checkCode(t, err, apierr.InternalError)
}

func TestAdmin(t *testing.T) {
	tests := []struct {
		name     string
		token    string // configured
		header   http.Header
		wantCode string // empty: allowed
	}{
		{name: "right", token: "admin-token", header: bearer("Bearer admin-token")},
		{name: "right_lower_case_scheme", token: "admin-token", header: bearer("bearer admin-token")},
		{name: "wrong", token: "admin-token", header: bearer("Bearer admin-tokem"), wantCode: apierr.Unauthorized},
		{name: "prefix", token: "admin-token", header: bearer("Bearer admin"), wantCode: apierr.Unauthorized},
		{name: "tenant_secret", token: "admin-token", header: bearer("Bearer live-secret"), wantCode: apierr.Unauthorized},
		{name: "missing", token: "admin-token", header: bearer(""), wantCode: apierr.Unauthorized},
		{name: "disabled_refuses_any_token", token: "", header: bearer("Bearer admin-token"), wantCode: apierr.Unauthorized},
		{name: "disabled_refuses_nothing_too", token: "", header: bearer(""), wantCode: apierr.Unauthorized},
		{name: "disabled_refuses_empty_token", token: "", header: bearer("Bearer "), wantCode: apierr.Unauthorized},
	}
	s := openStore(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := auth.New(s, tt.token).Admin(tt.header)
			if tt.wantCode == "" {
				if err != nil {
					t.Errorf("Admin = %v, want allowed", err)
				}
				return
			}
			checkCode(t, err, tt.wantCode)
		})
	}
}

func TestPrincipalContext(t *testing.T) {
	if p, ok := auth.FromContext(context.Background()); ok || p != (auth.Principal{}) {
		t.Errorf("empty context has principal %+v", p)
	}
	want := auth.Principal{TenantID: "t1", AppKey: "k1"}
	if p, ok := auth.FromContext(auth.WithPrincipal(context.Background(), want)); !ok || p != want {
		t.Errorf("FromContext = %+v, %v; want %+v", p, ok, want)
	}
}

// echo answers SubmitCallback with the principal it sees: the tenant as
// message id, the app key as request id.
type echo struct {
	callgatev1connect.UnimplementedCallbackServiceHandler
}

func (echo) SubmitCallback(ctx context.Context, _ *connect.Request[callgatev1.SubmitCallbackRequest]) (*connect.Response[callgatev1.SubmitCallbackResponse], error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return connect.NewResponse(&callgatev1.SubmitCallbackResponse{}), nil
	}
	return connect.NewResponse(&callgatev1.SubmitCallbackResponse{MessageId: p.TenantID, RequestId: p.AppKey}), nil
}

// TestInterceptors runs both interceptors in front of a real Connect
// handler, called by a real Connect client.
func TestInterceptors(t *testing.T) {
	a := auth.New(openStore(t), "admin-token")
	mux := http.NewServeMux()
	tenantPath, tenantHandler := callgatev1connect.NewCallbackServiceHandler(echo{}, connect.WithInterceptors(a.TenantInterceptor()))
	mux.Handle("/tenant"+tenantPath, http.StripPrefix("/tenant", tenantHandler))
	adminPath, adminHandler := callgatev1connect.NewCallbackServiceHandler(echo{}, connect.WithInterceptors(a.AdminInterceptor()))
	mux.Handle("/admin"+adminPath, http.StripPrefix("/admin", adminHandler))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		name           string
		prefix         string
		authorization  string
		wantTenant     string
		wantKey        string
		proxy          string       // the X-Callgate-Proxy-Organization header
		wantConnect    connect.Code // 0: allowed
		wantStableCode string
	}{
		{name: "tenant_valid", prefix: "/tenant", authorization: "Bearer live-secret", wantTenant: "t1", wantKey: "k1"},
		{name: "tenant_names_itself", prefix: "/tenant", authorization: "Bearer live-secret", proxy: "t1", wantTenant: "t1", wantKey: "k1"},
		{name: "tenant_not_an_agent", prefix: "/tenant", authorization: "Bearer live-secret", proxy: "t2",
			wantConnect: connect.CodePermissionDenied, wantStableCode: apierr.NoPermissionFeature},
		{name: "tenant_revoked", prefix: "/tenant", authorization: "Bearer old-secret", wantConnect: connect.CodeUnauthenticated, wantStableCode: apierr.Unauthorized},
		{name: "tenant_missing", prefix: "/tenant", wantConnect: connect.CodeUnauthenticated, wantStableCode: apierr.Unauthorized},
		{name: "admin_valid_sets_no_principal", prefix: "/admin", authorization: "Bearer admin-token"},
		{name: "admin_wrong", prefix: "/admin", authorization: "Bearer live-secret", wantConnect: connect.CodeUnauthenticated, wantStableCode: apierr.Unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := callgatev1connect.NewCallbackServiceClient(srv.Client(), srv.URL+tt.prefix)
			req := connect.NewRequest(&callgatev1.SubmitCallbackRequest{})
			if tt.authorization != "" {
				req.Header().Set("Authorization", tt.authorization)
			}
			if tt.proxy != "" {
				req.Header().Set(auth.ProxyHeader, tt.proxy)
			}
			resp, err := client.SubmitCallback(t.Context(), req)
			if tt.wantConnect != 0 {
				var ce *connect.Error
				if !errors.As(err, &ce) || ce.Code() != tt.wantConnect || ce.Meta().Get(apierr.CodeHeader) != tt.wantStableCode {
					t.Errorf("error = %v, want %v with %s %s", err, tt.wantConnect, apierr.CodeHeader, tt.wantStableCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.Msg.GetMessageId() != tt.wantTenant || resp.Msg.GetRequestId() != tt.wantKey {
				t.Errorf("handler saw tenant %q key %q, want %q %q", resp.Msg.GetMessageId(), resp.Msg.GetRequestId(), tt.wantTenant, tt.wantKey)
			}
		})
	}
}

// TestActFor: an agent key acts for its tenant's sub-tenants and nobody
// else; any other key acts for its own tenant only.
func TestActFor(t *testing.T) {
	s := openStore(t)
	ctx := t.Context()
	for _, tn := range []store.Tenant{{ID: "parent"}, {ID: "child", ParentID: "parent"}, {ID: "other"},
		{ID: "cousin", ParentID: "other"}} {
		if _, err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddAppKey(ctx, store.AppKey{TenantID: "parent", Key: "agent", Agent: true}, "agent-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAppKey(ctx, "parent", "plain", "plain-secret"); err != nil {
		t.Fatal(err)
	}
	a := auth.New(s, "")
	own := func(key string, agent bool) auth.Principal {
		return auth.Principal{TenantID: "parent", AppKey: key, KeyTenantID: "parent", Agent: agent}
	}
	tests := []struct {
		name      string
		secret    string
		proxy     string
		want      auth.Principal
		wantActor string
		wantCode  string
	}{
		{name: "agent_without_header", secret: "agent-secret", want: own("agent", true), wantActor: "agent"},
		{name: "agent_names_own_tenant", secret: "agent-secret", proxy: "parent", want: own("agent", true), wantActor: "agent"},
		{name: "agent_for_child", secret: "agent-secret", proxy: "child",
			want:      auth.Principal{TenantID: "child", AppKey: "agent", KeyTenantID: "parent", Agent: true},
			wantActor: "agent for child"},
		{name: "agent_for_other_top_level", secret: "agent-secret", proxy: "other", wantCode: apierr.ProxyOrganization},
		{name: "agent_for_another_child", secret: "agent-secret", proxy: "cousin", wantCode: apierr.ProxyOrganization},
		{name: "agent_for_missing", secret: "agent-secret", proxy: "nobody", wantCode: apierr.ProxyOrganization},
		{name: "plain_without_header", secret: "plain-secret", want: own("plain", false), wantActor: "plain"},
		{name: "plain_names_own_tenant", secret: "plain-secret", proxy: "parent", want: own("plain", false), wantActor: "plain"},
		{name: "plain_for_child", secret: "plain-secret", proxy: "child", wantCode: apierr.NoPermissionFeature},
		{name: "plain_for_missing", secret: "plain-secret", proxy: "nobody", wantCode: apierr.NoPermissionFeature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := bearer("Bearer " + tt.secret)
			if tt.proxy != "" {
				h.Set(auth.ProxyHeader, tt.proxy)
			}
			p, err := a.Tenant(ctx, h)
			if tt.wantCode != "" {
				checkCode(t, err, tt.wantCode)
				var ae *apierr.Error
				if errors.As(err, &ae) && ae.Status != http.StatusForbidden {
					t.Errorf("status %d, want 403", ae.Status)
				}
				return
			}
			if err != nil || p != tt.want {
				t.Fatalf("Tenant = %+v, %v; want %+v", p, err, tt.want)
			}
			if p.Actor() != tt.wantActor {
				t.Errorf("Actor() = %q, want %q", p.Actor(), tt.wantActor)
			}
		})
	}
	// Refusals for a child and for a stranger read alike: nothing tells
	// whether a tenant exists.
	_, errStranger := a.Tenant(ctx, http.Header{"Authorization": {"Bearer agent-secret"}, auth.ProxyHeader: {"nobody"}})
	_, errCousin := a.Tenant(ctx, http.Header{"Authorization": {"Bearer agent-secret"}, auth.ProxyHeader: {"cousin"}})
	if strip := func(err error, org string) string { return strings.ReplaceAll(err.Error(), org, "X") }; strip(errStranger, "nobody") != strip(errCousin, "cousin") {
		t.Errorf("a missing tenant and another's sub-tenant are refused differently: %v / %v", errStranger, errCousin)
	}
}
