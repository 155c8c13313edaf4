package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
	"github.com/callgate/callgate/rules"
)

// proxyHeader is auth.ProxyHeader, spelled out as a client would.
const proxyHeader = "X-Callgate-Proxy-Organization"

// clients are every service's Connect client, calling with one app secret
// and, when proxy is set, naming that organisation in proxyHeader.
type clients struct {
	config   callgatev1connect.ConfigServiceClient
	delivery callgatev1connect.DeliveryServiceClient
	channel  callgatev1connect.ChannelServiceClient
	rule     callgatev1connect.RuleServiceClient
	callback callgatev1connect.CallbackServiceClient
	feedback callgatev1connect.FeedbackServiceClient
	tenant   callgatev1connect.TenantServiceClient
}

func clientsFor(r *running, secret, proxy string) clients {
	opt := connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+secret)
			if proxy != "" {
				req.Header().Set(proxyHeader, proxy)
			}
			return next(ctx, req)
		}
	}))
	c, b := http.DefaultClient, r.base
	return clients{
		config:   callgatev1connect.NewConfigServiceClient(c, b, opt),
		delivery: callgatev1connect.NewDeliveryServiceClient(c, b, opt),
		channel:  callgatev1connect.NewChannelServiceClient(c, b, opt),
		rule:     callgatev1connect.NewRuleServiceClient(c, b, opt),
		callback: callgatev1connect.NewCallbackServiceClient(c, b, opt),
		feedback: callgatev1connect.NewFeedbackServiceClient(c, b, opt),
		tenant:   callgatev1connect.NewTenantServiceClient(c, b, opt),
	}
}

// isoTenant makes a tenant (a sub-tenant of parent when set) and an app
// key for it, an agent key when agent is set.
func isoTenant(t *testing.T, r *running, id, parent string, agent bool) (key, secret string) {
	t.Helper()
	admin := clientsFor(r, adminToken, "").tenant
	ctx := timeout(t, 10*time.Second)
	if _, err := admin.CreateTenant(ctx, connect.NewRequest(&callgatev1.CreateTenantRequest{
		Tenant: &callgatev1.Tenant{Id: id, Name: "Tenant " + id, ParentId: parent},
	})); err != nil && connect.CodeOf(err) != connect.CodeAlreadyExists {
		t.Fatalf("create tenant %s: %v", id, err)
	}
	return isoKey(t, r, id, agent)
}

func isoKey(t *testing.T, r *running, tenantID string, agent bool) (key, secret string) {
	t.Helper()
	resp, err := clientsFor(r, adminToken, "").tenant.CreateAppKey(timeout(t, 10*time.Second),
		connect.NewRequest(&callgatev1.CreateAppKeyRequest{TenantId: tenantID, Agent: agent}))
	if err != nil {
		t.Fatalf("create app key of %s: %v", tenantID, err)
	}
	return resp.Msg.GetAppKey(), resp.Msg.GetSecret()
}

// tenantA is the tenant whose data the others try to reach.
type tenantA struct {
	id, key, secret string
	okURL, goneURL  string // a receiver that takes callbacks, and one that is gone (410)
	goneConfig      string // the config of goneURL, disabled by its 410
	okDelivery      string // succeeded
	deadDelivery    string // dead
	message         string
}

const (
	aChannel = "a-chan"
	aRule    = "a-rule"
)

// makeTenantA gives tenant A a config of each kind, a channel, a rule of
// its own, a callback with a succeeded and a dead delivery, and a receipt.
func makeTenantA(t *testing.T, r *running) tenantA {
	t.Helper()
	a := tenantA{id: "iso-a"}
	a.key, a.secret = isoTenant(t, r, a.id, "", false)
	ok := newHook(t, nil)
	gone := newHook(t, func(int, hit) (int, string) { return http.StatusGone, "" })
	a.okURL, a.goneURL = ok.URL, gone.URL
	addConfig(t, r, a.secret, a.okURL, "", "a-token")
	addConfig(t, r, a.secret, a.goneURL, strings.Repeat("k", 32), "")
	c := clientsFor(r, a.secret, "")
	ctx := timeout(t, 30*time.Second)
	if _, err := c.channel.PutChannel(ctx, connect.NewRequest(&callgatev1.PutChannelRequest{Channel: &callgatev1.Channel{
		Id: aChannel, Plugin: "http", Settings: map[string]string{"timeout_ms": "2000"}}})); err != nil {
		t.Fatalf("A's channel: %v", err)
	}
	if _, err := c.rule.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{Code: aRule, Wasm: rules.Builtin()["http"]})); err != nil {
		t.Fatalf("A's rule: %v", err)
	}
	status, sent := submit(t, r, a.secret, a.id, "http", `{"a":"private"}`, nil)
	a.message = sent.Result.MessageID
	if status != http.StatusOK || len(sent.Result.DeliveryIDs) != 2 {
		t.Fatalf("A's callback: %d %+v, want a delivery per config", status, sent)
	}
	for _, id := range sent.Result.DeliveryIDs {
		d := waitDelivery(t, r, a.secret, id, 20*time.Second, "A's delivery to settle", func(d *callgatev1.GetDeliveryResponse) bool {
			return d.GetDelivery().GetStatus() == "succeeded" || d.GetDelivery().GetStatus() == "dead"
		})
		if d.GetDelivery().GetStatus() == "succeeded" {
			a.okDelivery = id
		} else {
			a.deadDelivery, a.goneConfig = id, d.GetDelivery().GetConfigId()
		}
	}
	if a.okDelivery == "" || a.deadDelivery == "" {
		t.Fatalf("A's deliveries: ok %q, dead %q", a.okDelivery, a.deadDelivery)
	}
	if _, err := c.feedback.SubmitFeedback(ctx, connect.NewRequest(&callgatev1.SubmitFeedbackRequest{
		ChannelId: "http", DeliveryId: a.okDelivery, Status: "delivered"})); err != nil {
		t.Fatalf("A's receipt: %v", err)
	}
	return a
}

// snapshot is everything A can read of its own data.
func (a tenantA) snapshot(t *testing.T, r *running) []proto.Message {
	t.Helper()
	c := clientsFor(r, a.secret, "")
	ctx := timeout(t, 10*time.Second)
	var out []proto.Message
	keep := func(m proto.Message, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("A reads its own data: %v", err)
		}
		out = append(out, m)
	}
	configs, err := msgOf(c.config.ListCallbackConfigs(ctx, connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{})))
	if err == nil {
		configs.(*callgatev1.ListCallbackConfigsResponse).RequestId = "" // made per request
	}
	keep(configs, err)
	keep(msgOf(c.channel.ListChannels(ctx, connect.NewRequest(&callgatev1.ListChannelsRequest{}))))
	keep(msgOf(c.rule.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: aRule}))))
	keep(msgOf(c.delivery.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{}))))
	for _, id := range []string{a.okDelivery, a.deadDelivery} {
		keep(msgOf(c.delivery.GetDelivery(ctx, connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: id}))))
	}
	keep(msgOf(c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{PageSize: 500}))))
	return out
}

// msgOf is a call's answer, when there is one.
func msgOf[T any](r *connect.Response[T], err error) (proto.Message, error) {
	if err != nil {
		return nil, err
	}
	return any(r.Msg).(proto.Message), nil
}

// errLeak is a call that answered with another tenant's data.
var errLeak = errors.New("answered with tenant A's data")

// leaks returns errLeak when what mentions any of A's ids or URLs.
func (a tenantA) leaks(what proto.Message) error {
	text := prototext.Format(what)
	for _, s := range []string{a.id, a.key, a.okURL, a.goneURL, a.goneConfig, a.okDelivery, a.deadDelivery, a.message, aChannel, aRule} {
		if strings.Contains(text, s) {
			return fmt.Errorf("%w: %q in %s", errLeak, s, text)
		}
	}
	return nil
}

// isoCall is one call of another tenant against A's data; it answers the
// error, or errLeak when it succeeded with A's data in its answer.
type isoCall struct {
	name string
	call func(ctx context.Context, c clients, a tenantA) error
	// wantCode is the stable code of the refusal, and want its Connect
	// code; empty when the call succeeds (within the caller's own data).
	wantCode string
	want     connect.Code
}

// tenantCalls are the calls of every tenant service, each aimed at A.
// Where ids live in each tenant's own namespace (a channel id, a rule
// code) a write makes the caller's own, and A's stays as it was.
func tenantCalls() []isoCall {
	notFound := func(code string) (string, connect.Code) { return code, connect.CodeNotFound }
	var calls []isoCall
	add := func(name string, code string, cc connect.Code, call func(ctx context.Context, c clients, a tenantA) error) {
		calls = append(calls, isoCall{name: name, call: call, wantCode: code, want: cc})
	}
	list := func(name string, call func(ctx context.Context, c clients, a tenantA) (proto.Message, error)) {
		add(name, "", 0, func(ctx context.Context, c clients, a tenantA) error {
			m, err := call(ctx, c, a)
			if err != nil {
				return err
			}
			return a.leaks(m)
		})
	}

	// ConfigService.
	add("config_delete_a_url", "FailedOperation", connect.CodeFailedPrecondition, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
			OperateType: 2, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: a.okURL}}))
		return err
	})
	add("config_add_as_agent_of_a", "UnauthorizedOperation.NoPermissionFeature", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
			OperateType: 1, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: "http://127.0.0.1:9/b"},
			Agent: &callgatev1.Agent{ProxyOrganizationId: a.id}}))
		return err
	})
	add("config_delete_as_agent_of_a", "UnauthorizedOperation.NoPermissionFeature", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
			OperateType: 2, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: a.okURL},
			Agent: &callgatev1.Agent{ProxyOrganizationId: a.id}}))
		return err
	})
	list("config_list", func(ctx context.Context, c clients, a tenantA) (proto.Message, error) {
		r, err := c.config.ListCallbackConfigs(ctx, connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{}))
		return msgOf(r, err)
	})
	add("config_list_as_agent_of_a", "UnauthorizedOperation.NoPermissionFeature", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.ListCallbackConfigs(ctx, connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{
			Agent: &callgatev1.Agent{ProxyOrganizationId: a.id}}))
		return err
	})
	code, cc := notFound("ResourceNotFound.CallbackConfig")
	add("config_enable", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.EnableCallbackConfig(ctx, connect.NewRequest(&callgatev1.EnableCallbackConfigRequest{Id: a.goneConfig}))
		return err
	})
	add("config_set_policy", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.SetCallbackConfigPolicy(ctx, connect.NewRequest(&callgatev1.SetCallbackConfigPolicyRequest{
			Id: a.goneConfig, Retry: &callgatev1.RetryPolicy{}}))
		return err
	})
	add("audit_of_a", "UnauthorizedOperation.Forbidden", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{TenantId: a.id}))
		return err
	})
	list("audit_own", func(ctx context.Context, c clients, a tenantA) (proto.Message, error) {
		r, err := c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{}))
		return msgOf(r, err)
	})

	// DeliveryService.
	list("delivery_list", func(ctx context.Context, c clients, a tenantA) (proto.Message, error) {
		r, err := c.delivery.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{}))
		return msgOf(r, err)
	})
	list("delivery_list_of_a_message", func(ctx context.Context, c clients, a tenantA) (proto.Message, error) {
		r, err := c.delivery.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{MessageId: a.message}))
		return msgOf(r, err)
	})
	code, cc = notFound("ResourceNotFound.Delivery")
	for _, which := range []string{"ok", "dead"} {
		id := func(a tenantA) string {
			if which == "ok" {
				return a.okDelivery
			}
			return a.deadDelivery
		}
		add("delivery_get_"+which, code, cc, func(ctx context.Context, c clients, a tenantA) error {
			_, err := c.delivery.GetDelivery(ctx, connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: id(a)}))
			return err
		})
		add("delivery_retry_"+which, code, cc, func(ctx context.Context, c clients, a tenantA) error {
			_, err := c.delivery.RetryDelivery(ctx, connect.NewRequest(&callgatev1.RetryDeliveryRequest{Id: id(a)}))
			return err
		})
	}
	add("delivery_replay", "", 0, func(ctx context.Context, c clients, a tenantA) error {
		r, err := c.delivery.ReplayDeliveries(ctx, connect.NewRequest(&callgatev1.ReplayDeliveriesRequest{Status: "dead"}))
		if err == nil && r.Msg.GetCount() != 0 {
			return fmt.Errorf("%w: replayed %d deliveries", errLeak, r.Msg.GetCount())
		}
		return err
	})

	// ChannelService.
	list("channel_list", func(ctx context.Context, c clients, a tenantA) (proto.Message, error) {
		r, err := c.channel.ListChannels(ctx, connect.NewRequest(&callgatev1.ListChannelsRequest{}))
		return msgOf(r, err)
	})
	code, cc = notFound("ResourceNotFound.Channel")
	add("channel_delete", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.channel.DeleteChannel(ctx, connect.NewRequest(&callgatev1.DeleteChannelRequest{Id: aChannel}))
		return err
	})
	add("channel_put_same_id_is_own", "", 0, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.channel.PutChannel(ctx, connect.NewRequest(&callgatev1.PutChannelRequest{Channel: &callgatev1.Channel{
			Id: aChannel, Plugin: "http", Settings: map[string]string{"timeout_ms": "9999"}}}))
		return err
	})

	// RuleService.
	list("rule_list", func(ctx context.Context, c clients, a tenantA) (proto.Message, error) {
		r, err := c.rule.ListRules(ctx, connect.NewRequest(&callgatev1.ListRulesRequest{}))
		return msgOf(r, err)
	})
	code, cc = notFound("ResourceNotFound.Rule")
	add("rule_get", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.rule.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: aRule}))
		return err
	})
	add("rule_activate", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.rule.ActivateRule(ctx, connect.NewRequest(&callgatev1.ActivateRuleRequest{Code: aRule, Version: 1}))
		return err
	})
	add("rule_test", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.rule.TestRule(ctx, connect.NewRequest(&callgatev1.TestRuleRequest{Code: aRule,
			Callback: &callgatev1.TestCallback{Content: "{}"}}))
		return err
	})
	add("rule_delete", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.rule.DeleteRule(ctx, connect.NewRequest(&callgatev1.DeleteRuleRequest{Code: aRule}))
		return err
	})
	add("rule_put_same_code_is_own", "", 0, func(ctx context.Context, c clients, a tenantA) error {
		r, err := c.rule.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{Code: aRule, Wasm: rules.Builtin()["http"]}))
		if err == nil && r.Msg.GetRule().GetVersion() != 1 {
			return fmt.Errorf("%w: the upload became version %d", errLeak, r.Msg.GetRule().GetVersion())
		}
		return err
	})

	// CallbackService and FeedbackService.
	add("callback_for_a", "UnauthorizedOperation.Forbidden", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.callback.SubmitCallback(ctx, connect.NewRequest(&callgatev1.SubmitCallbackRequest{TenantId: a.id, Content: "{}"}))
		return err
	})
	add("callback_with_a_app_key", "UnauthorizedOperation.Forbidden", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.callback.SubmitCallback(ctx, connect.NewRequest(&callgatev1.SubmitCallbackRequest{Content: "{}",
			Properties: &callgatev1.CallbackProperties{AppKey: a.key}}))
		return err
	})
	add("callbacks_for_a", "UnauthorizedOperation.Forbidden", connect.CodePermissionDenied, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.callback.SubmitCallbacks(ctx, connect.NewRequest(&callgatev1.SubmitCallbacksRequest{TenantId: a.id,
			Callbacks: []*callgatev1.SubmitCallbackRequest{{Content: "{}"}}}))
		return err
	})
	add("callbacks_one_for_a", "", 0, func(ctx context.Context, c clients, a tenantA) error {
		r, err := c.callback.SubmitCallbacks(ctx, connect.NewRequest(&callgatev1.SubmitCallbacksRequest{
			Callbacks: []*callgatev1.SubmitCallbackRequest{{TenantId: a.id, Content: "{}"}, {Content: "{}", Properties: &callgatev1.CallbackProperties{AppKey: a.key}}}}))
		if err == nil {
			for _, res := range r.Msg.GetResults() {
				if res.GetErrorCode() != "UnauthorizedOperation.Forbidden" {
					return fmt.Errorf("%w: a callback for A in a batch answered %v", errLeak, res)
				}
			}
		}
		return err
	})
	code, cc = notFound("ResourceNotFound.Delivery")
	add("feedback_on_a_delivery", code, cc, func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.feedback.SubmitFeedback(ctx, connect.NewRequest(&callgatev1.SubmitFeedbackRequest{
			ChannelId: "http", DeliveryId: a.okDelivery, Status: "failed"}))
		return err
	})
	return calls
}

// adminCalls are every TenantService call, aimed at A.
func adminCalls() []isoCall {
	var calls []isoCall
	add := func(name string, call func(ctx context.Context, c clients, a tenantA) error) {
		calls = append(calls, isoCall{name: name, call: call, wantCode: "UnauthorizedOperation", want: connect.CodeUnauthenticated})
	}
	add("tenant_create", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.CreateTenant(ctx, connect.NewRequest(&callgatev1.CreateTenantRequest{Tenant: &callgatev1.Tenant{Id: "iso-b-child", ParentId: a.id}}))
		return err
	})
	add("tenant_list", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.ListTenants(ctx, connect.NewRequest(&callgatev1.ListTenantsRequest{}))
		return err
	})
	add("tenant_update", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.UpdateTenant(ctx, connect.NewRequest(&callgatev1.UpdateTenantRequest{Tenant: &callgatev1.Tenant{Id: a.id, Name: "mine"}}))
		return err
	})
	add("key_create", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.CreateAppKey(ctx, connect.NewRequest(&callgatev1.CreateAppKeyRequest{TenantId: a.id, Agent: true}))
		return err
	})
	add("key_list", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.ListAppKeys(ctx, connect.NewRequest(&callgatev1.ListAppKeysRequest{TenantId: a.id}))
		return err
	})
	add("key_revoke", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.RevokeAppKey(ctx, connect.NewRequest(&callgatev1.RevokeAppKeyRequest{AppKey: a.key}))
		return err
	})
	add("audit_list", func(ctx context.Context, c clients, a tenantA) error {
		_, err := c.tenant.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{TenantId: a.id}))
		return err
	})
	return calls
}

// checkRefusal checks a call's answer against what it should be.
func checkRefusal(t *testing.T, err error, wantCode string, want connect.Code) {
	t.Helper()
	if wantCode == "" {
		if err != nil {
			t.Fatalf("answered %v, want success within the caller's own data", err)
		}
		return
	}
	if connect.CodeOf(err) != want || stableCode(err) != wantCode {
		t.Fatalf("answered %v (stable code %q), want %v with %s", err, stableCode(err), want, wantCode)
	}
}

// TestIsolation: tenant B, with its own valid key, tries every call of
// every service against tenant A's data, over Connect, the seed's REST
// paths and TC3; each is refused (or answers B's own data only), and A's
// data is the same afterwards.
func TestIsolation(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	a := makeTenantA(t, r)
	bKey, bSecret := isoTenant(t, r, "iso-b", "", false)
	before := a.snapshot(t, r)

	// With B's key naming A as the organisation it acts for, every tenant
	// call is refused before it runs: B's key is not an agent key.
	t.Run("as_agent_of_a", func(t *testing.T) {
		c := clientsFor(r, bSecret, a.id)
		for _, tc := range tenantCalls() {
			t.Run(tc.name, func(t *testing.T) {
				checkRefusal(t, tc.call(timeout(t, 10*time.Second), c, a), "UnauthorizedOperation.NoPermissionFeature", connect.CodePermissionDenied)
			})
		}
	})
	t.Run("connect", func(t *testing.T) {
		c := clientsFor(r, bSecret, "")
		for _, tc := range tenantCalls() {
			t.Run(tc.name, func(t *testing.T) {
				checkRefusal(t, tc.call(timeout(t, 10*time.Second), c, a), tc.wantCode, tc.want)
			})
		}
	})
	t.Run("admin_only", func(t *testing.T) {
		for who, secret := range map[string]string{"b_key": bSecret, "a_own_key": a.secret} {
			c := clientsFor(r, secret, "")
			for _, tc := range adminCalls() {
				t.Run(who+"/"+tc.name, func(t *testing.T) {
					checkRefusal(t, tc.call(timeout(t, 10*time.Second), c, a), tc.wantCode, tc.want)
				})
			}
		}
	})
	t.Run("rest", func(t *testing.T) {
		appKeyA, _ := json.Marshal(map[string]any{"content": "{}", "properties": map[string]any{"appKey": a.key}})
		feedback, _ := json.Marshal(map[string]any{"deliveryId": a.okDelivery, "status": "failed"})
		tests := []struct {
			name, path, body, proxy string
			wantStatus              int
			wantCode                string
		}{
			{name: "callback_on_a_path", path: "/" + a.id + "/message/v1/callbacks", body: `{"content":"{}"}`,
				wantStatus: 403, wantCode: "UnauthorizedOperation.Forbidden"},
			{name: "callback_with_a_app_key", path: "/iso-b/message/v1/callbacks", body: string(appKeyA),
				wantStatus: 403, wantCode: "UnauthorizedOperation.Forbidden"},
			{name: "callback_on_a_path_as_agent_of_a", path: "/" + a.id + "/message/v1/callbacks", body: `{"content":"{}"}`,
				proxy: a.id, wantStatus: 403, wantCode: "UnauthorizedOperation.NoPermissionFeature"},
			{name: "batch_on_a_path", path: "/" + a.id + "/message/v1/callbacks/batch", body: `{"callbacks":[{"content":"{}"}]}`,
				wantStatus: 403, wantCode: "UnauthorizedOperation.Forbidden"},
			{name: "batch_on_a_path_as_agent_of_a", path: "/" + a.id + "/message/v1/callbacks/batch", body: `{"callbacks":[{"content":"{}"}]}`,
				proxy: a.id, wantStatus: 403, wantCode: "UnauthorizedOperation.NoPermissionFeature"},
			{name: "feedback_on_a_delivery", path: "/message/v1/feedback/http", body: string(feedback),
				wantStatus: 404, wantCode: "ResourceNotFound.Delivery"},
			{name: "feedback_as_agent_of_a", path: "/message/v1/feedback/http", body: string(feedback),
				proxy: a.id, wantStatus: 403, wantCode: "UnauthorizedOperation.NoPermissionFeature"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, err := http.NewRequest(http.MethodPost, r.base+tt.path, strings.NewReader(tt.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+bSecret)
				if tt.proxy != "" {
					req.Header.Set(proxyHeader, tt.proxy)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var env seedAnswer
				if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tt.wantStatus || env.Code != tt.wantCode {
					t.Fatalf("answered %d %s %q, want %d %s", resp.StatusCode, env.Code, env.Message, tt.wantStatus, tt.wantCode)
				}
			})
		}
	})
	t.Run("tc3", func(t *testing.T) {
		agentOfA := tc3Body(1, "http://127.0.0.1:9/b", "", "")
		agentOfA["Agent"] = map[string]any{"ProxyOrganizationId": a.id}
		deleteAsAgent := tc3Body(2, a.okURL, "", "")
		deleteAsAgent["Agent"] = map[string]any{"ProxyOrganizationId": a.id}
		tests := []struct {
			name     string
			body     map[string]any
			wantCode string
		}{
			{name: "delete_a_url", body: tc3Body(2, a.okURL, "", ""), wantCode: "FailedOperation"},
			{name: "add_as_agent_of_a", body: agentOfA, wantCode: "UnauthorizedOperation.NoPermissionFeature"},
			{name: "delete_as_agent_of_a", body: deleteAsAgent, wantCode: "UnauthorizedOperation.NoPermissionFeature"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if code, msg := tc3Call(t, r, bKey, bSecret, tt.body); code != tt.wantCode {
					t.Fatalf("answered %q %q, want %q", code, msg, tt.wantCode)
				}
			})
		}
		// A's key with B's secret is not a signature.
		if code, _ := tc3Call(t, r, a.key, bSecret, tc3Body(2, a.okURL, "", "")); code != "AuthFailure.SignatureFailure" {
			t.Errorf("A's key signed with B's secret: %q", code)
		}
	})

	after := a.snapshot(t, r)
	for i := range before {
		if !proto.Equal(before[i], after[i]) {
			t.Errorf("A's data changed:\nbefore %s\nafter  %s", prototext.Format(before[i]), prototext.Format(after[i]))
		}
	}
}

// TestAgentActsForSubTenant: an agent key of P acts for P's sub-tenant C
// through the header, the seed's Agent and TC3; for anyone else, or with
// a key that is not an agent key, it is refused.
func TestAgentActsForSubTenant(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	agentKey, agentSecret := isoTenant(t, r, "iso-p", "", true)
	plainKey, plainSecret := isoKey(t, r, "iso-p", false)
	_, childSecret := isoTenant(t, r, "iso-c", "iso-p", false)
	isoTenant(t, r, "iso-o", "", true)
	isoTenant(t, r, "iso-oc", "iso-o", false)
	ctx := timeout(t, 60*time.Second)
	urls := func(secret, proxy string, agent *callgatev1.Agent) []string {
		t.Helper()
		resp, err := clientsFor(r, secret, proxy).config.ListCallbackConfigs(ctx, connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{Agent: agent}))
		if err != nil {
			t.Fatalf("list configs: %v", err)
		}
		var out []string
		for _, c := range resp.Msg.GetConfigs() {
			out = append(out, c.GetCallbackUrl())
		}
		slices.Sort(out)
		return out
	}
	modify := func(secret, proxy string, agent *callgatev1.Agent, url string) error {
		_, err := clientsFor(r, secret, proxy).config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
			OperateType: 1, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: url}, Agent: agent}))
		return err
	}
	viaHeader, viaAgent, viaTC3 := "http://127.0.0.1:9/header", "http://127.0.0.1:9/agent", "http://127.0.0.1:9/tc3"
	child := &callgatev1.Agent{ProxyOrganizationId: "iso-c"}

	t.Run("works_for_the_child", func(t *testing.T) {
		if err := modify(agentSecret, "iso-c", nil, viaHeader); err != nil {
			t.Fatalf("add through the header: %v", err)
		}
		if err := modify(agentSecret, "", child, viaAgent); err != nil {
			t.Fatalf("add through agent: %v", err)
		}
		body := tc3Body(1, viaTC3, "", "")
		body["Agent"] = map[string]any{"ProxyOrganizationId": "iso-c"}
		if code, msg := tc3Call(t, r, agentKey, agentSecret, body); code != "" {
			t.Fatalf("add through TC3: %s %s", code, msg)
		}
		want := []string{viaAgent, viaHeader, viaTC3}
		for name, got := range map[string][]string{
			"child's own key": urls(childSecret, "", nil),
			"agent, header":   urls(agentSecret, "iso-c", nil),
			"agent, agent":    urls(agentSecret, "", child),
		} {
			if !slices.Equal(got, want) {
				t.Errorf("%s lists %v, want %v", name, got, want)
			}
		}
		if got := urls(agentSecret, "", nil); len(got) != 0 {
			t.Errorf("the parent's own configs are %v: the child's were added to it", got)
		}
		// The other tenant services act for the child through the header.
		c := clientsFor(r, agentSecret, "iso-c")
		if _, err := c.channel.PutChannel(ctx, connect.NewRequest(&callgatev1.PutChannelRequest{Channel: &callgatev1.Channel{
			Id: "c-chan", Plugin: "http"}})); err != nil {
			t.Fatalf("put the child's channel: %v", err)
		}
		own, err := clientsFor(r, childSecret, "").channel.ListChannels(ctx, connect.NewRequest(&callgatev1.ListChannelsRequest{}))
		if err != nil || !slices.ContainsFunc(own.Msg.GetChannels(), func(ch *callgatev1.Channel) bool { return ch.GetId() == "c-chan" }) {
			t.Errorf("the child's channels: %v %v", own, err)
		}
		if _, err := c.delivery.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{})); err != nil {
			t.Errorf("list the child's deliveries: %v", err)
		}
		req, _ := http.NewRequest(http.MethodPost, r.base+"/iso-c/message/v1/callbacks", strings.NewReader(`{"content":"{}"}`))
		req.Header.Set("Authorization", "Bearer "+agentSecret)
		req.Header.Set(proxyHeader, "iso-c")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var env seedAnswer
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if resp.StatusCode != 200 || env.Code != "OK" || len(env.Result.DeliveryIDs) != 3 {
			t.Errorf("a callback for the child: %d %+v", resp.StatusCode, env)
		}
		// Without the header the path's tenant is not the key's.
		if status, env := submit(t, r, agentSecret, "iso-c", "http", "{}", nil); status != 403 || env.Code != "UnauthorizedOperation.Forbidden" {
			t.Errorf("a callback for the child without the header: %d %+v", status, env)
		}
	})

	t.Run("audited_as_the_agent", func(t *testing.T) {
		resp, err := clientsFor(r, childSecret, "").config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range resp.Msg.GetEvents() {
			if ev.GetActor() != "admin" {
				got = append(got, ev.GetActor()+" "+ev.GetAction())
			}
		}
		as := agentKey + " for iso-c"
		want := []string{as + " channel.put", as + " config.add", as + " config.add", as + " config.add"}
		if !slices.Equal(got, want) {
			t.Errorf("the child's audit log: %q, want %q", got, want)
		}
		parent, err := clientsFor(r, agentSecret, "").config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range parent.Msg.GetEvents() {
			if ev.GetTenantId() != "iso-p" {
				t.Errorf("the parent's log holds %v", ev)
			}
		}
	})

	t.Run("refused", func(t *testing.T) {
		const noAgent, notChild = "UnauthorizedOperation.NoPermissionFeature", "UnauthorizedOperation.ProxyOrganization"
		tests := []struct {
			name          string
			secret, proxy string
			agent         string
			wantCode      string
			want          connect.Code
		}{
			{name: "agent_for_other_top_level", secret: agentSecret, proxy: "iso-o", wantCode: notChild, want: connect.CodePermissionDenied},
			{name: "agent_for_another_child", secret: agentSecret, proxy: "iso-oc", wantCode: notChild, want: connect.CodePermissionDenied},
			{name: "agent_for_missing", secret: agentSecret, proxy: "iso-nobody", wantCode: notChild, want: connect.CodePermissionDenied},
			{name: "agent_body_for_other", secret: agentSecret, agent: "iso-oc", wantCode: notChild, want: connect.CodePermissionDenied},
			{name: "plain_key_for_child", secret: plainSecret, proxy: "iso-c", wantCode: noAgent, want: connect.CodePermissionDenied},
			{name: "plain_key_body_for_child", secret: plainSecret, agent: "iso-c", wantCode: noAgent, want: connect.CodePermissionDenied},
			{name: "child_for_parent", secret: childSecret, proxy: "iso-p", wantCode: noAgent, want: connect.CodePermissionDenied},
			{name: "header_and_agent_disagree", secret: agentSecret, proxy: "iso-c", agent: "iso-p",
				wantCode: "InvalidParameterValue", want: connect.CodeInvalidArgument},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var agent *callgatev1.Agent
				if tt.agent != "" {
					agent = &callgatev1.Agent{ProxyOrganizationId: tt.agent}
				}
				checkRefusal(t, modify(tt.secret, tt.proxy, agent, "http://127.0.0.1:9/refused"), tt.wantCode, tt.want)
				if tt.agent == "" {
					_, err := clientsFor(r, tt.secret, tt.proxy).delivery.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{}))
					checkRefusal(t, err, tt.wantCode, tt.want)
				}
			})
		}
		for name, tc := range map[string]struct{ key, secret, org, want string }{
			"tc3_agent_for_other": {agentKey, agentSecret, "iso-oc", notChild},
			"tc3_plain_for_child": {plainKey, plainSecret, "iso-c", noAgent},
		} {
			t.Run(name, func(t *testing.T) {
				body := tc3Body(1, "http://127.0.0.1:9/refused", "", "")
				body["Agent"] = map[string]any{"ProxyOrganizationId": tc.org}
				if code, msg := tc3Call(t, r, tc.key, tc.secret, body); code != tc.want {
					t.Fatalf("answered %q %q, want %q", code, msg, tc.want)
				}
			})
		}
		for _, tenant := range []string{"iso-o", "iso-oc"} {
			if got := urls(adminOwnSecret(t, r, tenant), "", nil); len(got) != 0 {
				t.Errorf("%s got configs %v", tenant, got)
			}
		}
	})
}

// adminOwnSecret makes a fresh key for tenant, to look at its data as it
// would.
func adminOwnSecret(t *testing.T, r *running, tenant string) string {
	_, secret := isoKey(t, r, tenant, false)
	return secret
}
