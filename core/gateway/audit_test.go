package gateway_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/rules"
)

// auditLines renders events as "actor action target", newest first.
func auditLines(evs []*callgatev1.AuditEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.GetActor()+" "+ev.GetAction()+" "+ev.GetTarget())
	}
	return out
}

// noSecrets fails when any secret shows in the events.
func noSecrets(t *testing.T, evs []*callgatev1.AuditEvent, secrets ...string) {
	t.Helper()
	for _, ev := range evs {
		b, err := protojson.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) {
				t.Errorf("the audit log holds the secret %q: %s", s, b)
			}
		}
	}
}

// TestAuditLog makes a change of every kind through the management APIs
// and reads the log back as the tenant and as the operator.
func TestAuditLog(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	ctx := timeout(t, 60*time.Second)
	admin := clientsFor(r, adminToken, "").tenant

	// The operator's changes.
	key, secret := isoTenant(t, r, "aud", "", false)
	if _, err := admin.UpdateTenant(ctx, connect.NewRequest(&callgatev1.UpdateTenantRequest{Tenant: &callgatev1.Tenant{
		Id: "aud", Name: "Audited", Limits: &callgatev1.TenantLimits{IngestRate: 5}}})); err != nil {
		t.Fatal(err)
	}
	spare, _ := isoKey(t, r, "aud", true)
	if _, err := admin.RevokeAppKey(ctx, connect.NewRequest(&callgatev1.RevokeAppKeyRequest{AppKey: spare})); err != nil {
		t.Fatal(err)
	}
	isoTenant(t, r, "aud-other", "", false)

	// The tenant's changes, some with secrets in them.
	c := clientsFor(r, secret, "")
	const (
		cbKey      = "0123456789abcdef0123456789abcdef"
		cbToken    = "audit-token-secret"
		basic      = "user:basic-secret"
		header     = "header-secret-value"
		clientSecr = "oauth-client-secret"
	)
	added, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
		OperateType: 1, Operator: &callgatev1.UserInfo{UserId: "alice"},
		CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: "http://127.0.0.1:9/a", CallbackKey: cbKey, CallbackToken: cbToken,
			Headers: map[string]string{"X-Api-Key": header}, BasicAuth: basic}}))
	if err != nil {
		t.Fatal(err)
	}
	// Adding it again changes nothing, and is not recorded.
	if _, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
		OperateType: 1, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: "http://127.0.0.1:9/a"}})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
		OperateType: 1, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: "http://127.0.0.1:9/o",
			Oauth2: &callgatev1.OAuth2ClientCredentials{TokenUrl: "http://127.0.0.1:9/token", ClientId: "id", ClientSecret: clientSecr}}})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.config.ModifyCallbackConfig(ctx, connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
		OperateType: 2, Operator: &callgatev1.UserInfo{UserId: "alice"},
		CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: "http://127.0.0.1:9/a"}})); err != nil {
		t.Fatal(err)
	}
	// A config whose receiver is gone is disabled, then enabled again.
	gone := newHook(t, func(int, hit) (int, string) { return http.StatusGone, "" })
	addConfig(t, r, secret, gone.URL, "", "")
	_, sent := submit(t, r, secret, "aud", "http", "{}", nil)
	var goneID string
	for _, id := range sent.Result.DeliveryIDs {
		d, err := c.delivery.GetDelivery(ctx, connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: id}))
		if err != nil {
			t.Fatal(err)
		}
		if d.Msg.GetDelivery().GetDestination() == gone.URL {
			waitDelivery(t, r, secret, id, 20*time.Second, "the 410", func(d *callgatev1.GetDeliveryResponse) bool {
				return d.GetDelivery().GetStatus() == "dead"
			})
			goneID = d.Msg.GetDelivery().GetConfigId()
		}
	}
	if goneID == "" {
		t.Fatalf("no delivery to the gone receiver in %+v", sent)
	}
	if _, err := c.config.EnableCallbackConfig(ctx, connect.NewRequest(&callgatev1.EnableCallbackConfigRequest{Id: goneID})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.channel.PutChannel(ctx, connect.NewRequest(&callgatev1.PutChannelRequest{Channel: &callgatev1.Channel{
		Id: "ch", Plugin: "http", Settings: map[string]string{"timeout_ms": "1234"}}})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.channel.DeleteChannel(ctx, connect.NewRequest(&callgatev1.DeleteChannelRequest{Id: "ch"})); err != nil {
		t.Fatal(err)
	}
	wasm := rules.Builtin()["http"]
	for range 2 {
		if _, err := c.rule.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{Code: "mine", Wasm: wasm})); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.rule.ActivateRule(ctx, connect.NewRequest(&callgatev1.ActivateRuleRequest{Code: "mine", Version: 1})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.rule.DeleteRule(ctx, connect.NewRequest(&callgatev1.DeleteRuleRequest{Code: "mine"})); err != nil {
		t.Fatal(err)
	}
	if code, msg := tc3Call(t, r, key, secret, tc3Body(1, "http://127.0.0.1:9/tc3", "", "")); code != "" {
		t.Fatalf("tc3: %s %s", code, msg)
	}

	own, err := c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{PageSize: 500}))
	if err != nil {
		t.Fatal(err)
	}
	evs := own.Msg.GetEvents()
	var got []string
	for _, line := range auditLines(evs) {
		// Config ids are made by the gateway: keep only the action.
		f := strings.Fields(line)
		if strings.HasPrefix(f[1], "config.") {
			line = f[0] + " " + f[1]
		}
		got = append(got, line)
	}
	want := []string{
		key + " config.add",
		key + " rule.delete mine",
		key + " rule.activate mine",
		key + " rule.put mine",
		key + " rule.put mine",
		key + " channel.delete ch",
		key + " channel.put ch",
		key + " config.enable",
		key + " config.add",
		key + " config.delete",
		key + " config.add",
		key + " config.add",
		"admin appkey.revoke " + spare,
		"admin appkey.create " + spare,
		"admin tenant.update aud",
		"admin appkey.create " + key,
		"admin tenant.create aud",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the tenant's log:\n got %q\nwant %q", got, want)
	}
	noSecrets(t, evs, cbKey, cbToken, basic, "basic-secret", header, clientSecr, secret)
	for _, ev := range evs {
		if ev.GetTenantId() != "aud" || ev.GetRequestId() == "" || ev.GetTime() == nil || ev.GetId() == "" {
			t.Errorf("event %v", ev)
		}
	}
	// The first config.add is the one ModifyCallbackConfig answered, with
	// its request id and what was set, though not to what.
	i := slices.IndexFunc(evs, func(ev *callgatev1.AuditEvent) bool {
		return ev.GetAction() == "config.add" && ev.GetTarget() == added.Msg.GetConfigId()
	})
	if i < 0 {
		t.Fatalf("no config.add event of %s", added.Msg.GetConfigId())
	}
	first := evs[i]
	if first.GetTarget() != added.Msg.GetConfigId() || first.GetRequestId() != added.Msg.GetRequestId() {
		t.Errorf("config.add event %v, answer %v", first, added.Msg)
	}
	detail := first.GetDetail().AsMap()
	if detail["url"] != "http://127.0.0.1:9/a" || detail["signed"] != true || detail["encrypted"] != true ||
		detail["basicAuth"] != true || detail["operator"] != "alice" || !slices.Equal(detail["headerNames"].([]any), []any{"X-Api-Key"}) {
		t.Errorf("config.add detail %v", detail)
	}

	t.Run("operator_reads_the_same", func(t *testing.T) {
		var paged []*callgatev1.AuditEvent
		req := &callgatev1.ListAuditEventsRequest{TenantId: "aud", PageSize: 4}
		for {
			resp, err := admin.ListAuditEvents(ctx, connect.NewRequest(req))
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, resp.Msg.GetEvents()...)
			if resp.Msg.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.Msg.GetNextPageToken()
		}
		if !slices.Equal(auditLines(paged), auditLines(evs)) {
			t.Errorf("paged by the operator:\n%q\nthe tenant's own:\n%q", auditLines(paged), auditLines(evs))
		}
		all, err := admin.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{PageSize: 500}))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(all.Msg.GetEvents(), func(ev *callgatev1.AuditEvent) bool { return ev.GetTenantId() == "aud-other" }) {
			t.Error("the operator's unfiltered log lacks the other tenant")
		}
		old, err := admin.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{
			Before: timestamppb.New(time.Now().Add(-time.Hour))}))
		if err != nil || len(old.Msg.GetEvents()) != 0 {
			t.Errorf("events before an hour ago: %v %v", old, err)
		}
		_, err = admin.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{PageToken: "forged"}))
		checkRefusal(t, err, "InvalidParameterValue", connect.CodeInvalidArgument)
	})
	t.Run("tenant_reads_only_its_own", func(t *testing.T) {
		_, err := c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{TenantId: "aud-other"}))
		checkRefusal(t, err, "UnauthorizedOperation.Forbidden", connect.CodePermissionDenied)
		_, err = c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{TenantId: "no-such-tenant"}))
		checkRefusal(t, err, "UnauthorizedOperation.Forbidden", connect.CodePermissionDenied)
		named, err := c.config.ListAuditEvents(ctx, connect.NewRequest(&callgatev1.ListAuditEventsRequest{TenantId: "aud", PageSize: 500}))
		if err != nil || len(named.Msg.GetEvents()) != len(evs) {
			t.Errorf("naming its own tenant: %v", err)
		}
	})
}

// TestAuditDeclared: what the configuration file makes is recorded as
// "config-file", once: a second start with the same file records nothing.
func TestAuditDeclared(t *testing.T) {
	dir := t.TempDir()
	wasm := filepath.Join(dir, "mine.wasm")
	if err := os.WriteFile(wasm, rules.Builtin()["http"], 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GROUP_SECRET", "group-secret-0123456789")
	t.Setenv("SHOP_SECRET", "shop-secret-0123456789")
	file := filepath.Join(dir, "callgate.yaml")
	yaml := `tenants:
  - id: group
    app_keys: [{key: group-agent, secret_env: GROUP_SECRET, agent: true}]
  - id: shop
    parent: group
    app_keys: [{key: shop-main, secret_env: SHOP_SECRET}]
    configs: [{url: "https://shop.example/hook", token: declared-token-secret}]
    channels: [{id: mail, plugin: http, settings: {timeout_ms: "2000"}}]
    rules: [{code: mine, wasm: mine.wasm}]
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	var lines []string
	for i := range 2 {
		cfg := testConfig(data)
		if err := cfg.LoadFile(file); err != nil {
			t.Fatal(err)
		}
		r := start(t, cfg)
		resp, err := clientsFor(r, adminToken, "").tenant.ListAuditEvents(timeout(t, 10*time.Second),
			connect.NewRequest(&callgatev1.ListAuditEventsRequest{PageSize: 500}))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ev := range resp.Msg.GetEvents() {
			if ev.GetActor() != "config-file" || ev.GetRequestId() != "" {
				t.Errorf("event %v", ev)
			}
			f := strings.Fields(ev.GetTenantId() + " " + ev.GetAction() + " " + ev.GetTarget())
			got = append(got, strings.Join(f[:2], " "))
		}
		noSecrets(t, resp.Msg.GetEvents(), "group-secret-0123456789", "shop-secret-0123456789", "declared-token-secret")
		if i == 0 {
			want := []string{"shop rule.put", "shop channel.put", "shop config.add", "shop appkey.create", "shop tenant.create",
				"group appkey.create", "group tenant.create"}
			if !slices.Equal(got, want) {
				t.Fatalf("declared events:\n got %q\nwant %q", got, want)
			}
			lines = got
		} else if !slices.Equal(got, lines) {
			t.Errorf("the second start recorded more: %q", got)
		}
		// The declared agent key acts for the declared sub-tenant.
		configs, err := clientsFor(r, "group-secret-0123456789", "shop").config.ListCallbackConfigs(timeout(t, 10*time.Second),
			connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{}))
		if err != nil || len(configs.Msg.GetConfigs()) != 1 {
			t.Errorf("the agent lists the sub-tenant's configs: %v %v", configs, err)
		}
		r.stop()
	}
}
