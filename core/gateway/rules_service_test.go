package gateway_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// stableCode returns the Callgate-Error-Code of a failed Connect call.
func stableCode(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Meta().Get("Callgate-Error-Code")
	}
	return ""
}

// arrived waits until the hook got a request with body and returns it.
func arrived(t *testing.T, hk *hook, body string) hit {
	t.Helper()
	var found hit
	hk.wait(t, 10*time.Second, "a request with body "+body, func(hs []hit) bool {
		for _, h := range hs {
			if string(h.Body) == body {
				found = h
				return true
			}
		}
		return false
	})
	return found
}

// accepted submits a callback that must be accepted with one delivery.
func accepted(t *testing.T, r *running, secret, tenant, rule, content string, ext map[string]string) seedAnswer {
	t.Helper()
	status, env := submit(t, r, secret, tenant, rule, content, ext)
	if status != http.StatusOK || env.Code != "OK" || len(env.Result.DeliveryIDs) != 1 {
		t.Fatalf("submit %q with rule %s: %d %+v", content, rule, status, env)
	}
	return env
}

// ruleCodes lists the codes of rules, with their version and whether they
// are built in and active, as "code@version[ builtin][ active]".
func ruleCodes(rs []*callgatev1.Rule) []string {
	var out []string
	for _, r := range rs {
		s := r.GetCode() + "@" + strconv.Itoa(int(r.GetVersion()))
		if r.GetBuiltin() {
			s += " builtin"
		}
		if r.GetActive() {
			s += " active"
		}
		out = append(out, s)
	}
	return out
}

// TestRuleService follows a tenant's rule through its life: uploaded from
// Go source built with the SDK, used by callbacks, versioned, tried out,
// rolled back, shadowing a built-in rule, deleted; and checks that another
// tenant neither sees nor uses it, and that bad modules are refused.
func TestRuleService(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	hk := newHook(t, nil)
	addConfig(t, r, devSecret, hk.URL, "", "")
	v1, v2 := buildGoRule(t, "custom", "1"), buildGoRule(t, "custom", "2")
	if bytes.Equal(v1, v2) {
		t.Fatal("the two builds of the custom rule are the same bytes")
	}
	rules := callgatev1connect.NewRuleServiceClient(http.DefaultClient, r.base, bearer(devSecret))
	ctx := timeout(t, 50*time.Second)

	t.Run("built_ins_listed", func(t *testing.T) {
		list, err := rules.ListRules(ctx, connect.NewRequest(&callgatev1.ListRulesRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"ebaas@0 builtin active", "email@0 builtin active", "http@0 builtin active",
			"sms@0 builtin active", "tim@0 builtin active"}
		if got := ruleCodes(list.Msg.GetRules()); !slices.Equal(got, want) {
			t.Errorf("rules = %v, want %v", got, want)
		}
		for _, rl := range list.Msg.GetRules() {
			if len(rl.GetSha256()) != 64 {
				t.Errorf("built-in %s has sha256 %q", rl.GetCode(), rl.GetSha256())
			}
			if (rl.GetCode() == "ebaas" || rl.GetCode() == "tim") && !rl.GetClassifies() {
				t.Errorf("built-in %s does not say it classifies", rl.GetCode())
			}
		}
	})

	put := func(t *testing.T, code string, wasm []byte, inactive bool) *callgatev1.Rule {
		t.Helper()
		resp, err := rules.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{Code: code, Wasm: wasm, Inactive: inactive}))
		if err != nil {
			t.Fatalf("put %s: %v", code, err)
		}
		if resp.Msg.GetRequestId() == "" {
			t.Error("PutRule answered no request id")
		}
		return resp.Msg.GetRule()
	}

	t.Run("put_and_use", func(t *testing.T) {
		rl := put(t, "custom", v1, false)
		sum := sha256.Sum256(v1)
		if rl.GetVersion() != 1 || !rl.GetActive() || rl.GetBuiltin() || rl.GetSha256() != hex.EncodeToString(sum[:]) ||
			rl.GetSizeBytes() != int64(len(v1)) || rl.GetCreateTime() == nil {
			t.Errorf("put v1 = %v", rl)
		}
		accepted(t, r, devSecret, "demo", "custom", "custom one", map[string]string{"tag": "a"})
		h := arrived(t, hk, "custom one")
		if h.Header.Get("X-Custom-Rule") != "1" || h.Header.Get("X-Custom-Tag") != "a" ||
			h.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
			t.Errorf("headers = %v", h.Header)
		}
	})

	t.Run("new_version_takes_over", func(t *testing.T) {
		if rl := put(t, "custom", v2, false); rl.GetVersion() != 2 || !rl.GetActive() {
			t.Errorf("put v2 = %v", rl)
		}
		accepted(t, r, devSecret, "demo", "custom", "custom two", nil)
		if h := arrived(t, hk, "custom two"); h.Header.Get("X-Custom-Rule") != "2" || h.Header.Get("X-Custom-Tag") != "" {
			t.Errorf("headers = %v", h.Header)
		}
		got, err := rules.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: "custom"}))
		if err != nil {
			t.Fatal(err)
		}
		if codes := ruleCodes(got.Msg.GetVersions()); !slices.Equal(codes, []string{"custom@2 active", "custom@1"}) {
			t.Errorf("versions = %v", codes)
		}
	})

	t.Run("test_rule", func(t *testing.T) {
		resp, err := rules.TestRule(ctx, connect.NewRequest(&callgatev1.TestRuleRequest{Code: "custom",
			Callback: &callgatev1.TestCallback{Content: "dry run",
				Properties: &callgatev1.CallbackProperties{Rule: "ignored", Ext: map[string]string{"tag": "t"}}}}))
		if err != nil {
			t.Fatal(err)
		}
		m := resp.Msg
		if m.GetError() != "" || m.GetVersion() != 2 || m.GetDurationUs() <= 0 {
			t.Errorf("test = error %q, version %d, %d µs", m.GetError(), m.GetVersion(), m.GetDurationUs())
		}
		ds := m.GetDecision().GetFields()["deliveries"].GetListValue().GetValues()
		if len(ds) != 1 {
			t.Fatalf("decision = %v", m.GetDecision())
		}
		d := ds[0].GetStructValue().GetFields()
		hdr := d["headers"].GetStructValue().GetFields()
		if d["channel"].GetStringValue() != "http" || !strings.HasPrefix(d["configId"].GetStringValue(), "cfg") ||
			d["body"].GetStringValue() != "dry run" || hdr["X-Custom-Rule"].GetStringValue() != "2" ||
			hdr["X-Custom-Tag"].GetStringValue() != "t" {
			t.Errorf("delivery = %v", d)
		}
		if len(m.GetLogs()) != 1 || m.GetLogs()[0].GetLevel() != "INFO" ||
			!strings.HasPrefix(m.GetLogs()[0].GetText(), "custom v2 routed msg") {
			t.Errorf("logs = %v", m.GetLogs())
		}
		time.Sleep(200 * time.Millisecond)
		for _, h := range hk.got() {
			if string(h.Body) == "dry run" {
				t.Error("TestRule delivered something")
			}
		}
	})

	t.Run("rollback", func(t *testing.T) {
		act, err := rules.ActivateRule(ctx, connect.NewRequest(&callgatev1.ActivateRuleRequest{Code: "custom", Version: 1}))
		if err != nil || act.Msg.GetRule().GetVersion() != 1 || !act.Msg.GetRule().GetActive() {
			t.Fatalf("activate v1: %v %v", act, err)
		}
		accepted(t, r, devSecret, "demo", "custom", "custom rolled back", nil)
		if h := arrived(t, hk, "custom rolled back"); h.Header.Get("X-Custom-Rule") != "1" {
			t.Errorf("after rollback X-Custom-Rule = %q, want 1", h.Header.Get("X-Custom-Rule"))
		}
		// A version uploaded inactive waits for ActivateRule.
		if rl := put(t, "custom", v2, true); rl.GetVersion() != 3 || rl.GetActive() {
			t.Errorf("put inactive = %v", rl)
		}
		accepted(t, r, devSecret, "demo", "custom", "custom still one", nil)
		if h := arrived(t, hk, "custom still one"); h.Header.Get("X-Custom-Rule") != "1" {
			t.Errorf("after an inactive upload X-Custom-Rule = %q, want 1", h.Header.Get("X-Custom-Rule"))
		}
		tr, err := rules.TestRule(ctx, connect.NewRequest(&callgatev1.TestRuleRequest{Code: "custom",
			Callback: &callgatev1.TestCallback{Content: "x"}}))
		if err != nil || tr.Msg.GetVersion() != 1 {
			t.Errorf("TestRule after rollback: version %d, %v", tr.Msg.GetVersion(), err)
		}
		_, err = rules.ActivateRule(ctx, connect.NewRequest(&callgatev1.ActivateRuleRequest{Code: "custom", Version: 9}))
		if connect.CodeOf(err) != connect.CodeNotFound || stableCode(err) != "ResourceNotFound.Rule" {
			t.Errorf("activate a missing version: %v", err)
		}
		list, err := rules.ListRules(ctx, connect.NewRequest(&callgatev1.ListRulesRequest{}))
		if err != nil || !slices.Contains(ruleCodes(list.Msg.GetRules()), "custom@1 active") {
			t.Errorf("list after rollback: %v %v", ruleCodes(list.Msg.GetRules()), err)
		}
	})

	misbehave := watModule(t, "misbehave")
	other := newTenant(t, r, "other")
	otherHook := newHook(t, nil)
	addConfig(t, r, other, otherHook.URL, "", "")
	otherRules := callgatev1connect.NewRuleServiceClient(http.DefaultClient, r.base, bearer(other))

	t.Run("other_tenant_cannot_see_or_use_it", func(t *testing.T) {
		list, err := otherRules.ListRules(ctx, connect.NewRequest(&callgatev1.ListRulesRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		for _, rl := range list.Msg.GetRules() {
			if !rl.GetBuiltin() {
				t.Errorf("the other tenant lists %v", rl)
			}
		}
		for name, call := range map[string]func() error{
			"get": func() error {
				_, err := otherRules.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: "custom"}))
				return err
			},
			"activate": func() error {
				_, err := otherRules.ActivateRule(ctx, connect.NewRequest(&callgatev1.ActivateRuleRequest{Code: "custom", Version: 1}))
				return err
			},
			"delete": func() error {
				_, err := otherRules.DeleteRule(ctx, connect.NewRequest(&callgatev1.DeleteRuleRequest{Code: "custom"}))
				return err
			},
			"test": func() error {
				_, err := otherRules.TestRule(ctx, connect.NewRequest(&callgatev1.TestRuleRequest{Code: "custom",
					Callback: &callgatev1.TestCallback{Content: "x"}}))
				return err
			},
		} {
			if err := call(); connect.CodeOf(err) != connect.CodeNotFound || stableCode(err) != "ResourceNotFound.Rule" {
				t.Errorf("%s of the first tenant's rule: %v", name, err)
			}
		}
		if status, env := submit(t, r, other, "other", "custom", "x", nil); status != http.StatusNotFound || env.Code != "ResourceNotFound.Rule" {
			t.Errorf("submit with the first tenant's rule: %d %+v", status, env)
		}

		// The other tenant's own rule of the same code is its own.
		if _, err := otherRules.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{Code: "custom", Wasm: misbehave})); err != nil {
			t.Fatal(err)
		}
		accepted(t, r, other, "other", "custom", "other custom", nil)
		if h := arrived(t, otherHook, "other custom"); h.Header.Get("X-Rule") != "misbehave" || h.Header.Get("X-Custom-Rule") != "" {
			t.Errorf("the other tenant's rule sent headers %v", h.Header)
		}
		accepted(t, r, devSecret, "demo", "custom", "demo custom", nil)
		if h := arrived(t, hk, "demo custom"); h.Header.Get("X-Custom-Rule") != "1" || h.Header.Get("X-Rule") != "" {
			t.Errorf("the first tenant's rule sent headers %v", h.Header)
		}
		for _, h := range append(hk.got(), otherHook.got()...) {
			if string(h.Body) == "x" {
				t.Error("a refused callback was delivered")
			}
		}
		if n := len(otherHook.got()); n != 1 {
			t.Errorf("the other tenant's hook got %d requests, want 1", n)
		}
	})

	t.Run("shadow_builtin_then_delete", func(t *testing.T) {
		if rl := put(t, "http", misbehave, false); rl.GetVersion() != 1 || rl.GetBuiltin() {
			t.Errorf("put http = %v", rl)
		}
		list, err := rules.ListRules(ctx, connect.NewRequest(&callgatev1.ListRulesRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		codes := ruleCodes(list.Msg.GetRules())
		if !slices.Contains(codes, "http@1 active") || !slices.Contains(codes, "http@0 builtin") {
			t.Errorf("rules = %v, want the tenant's http active and the built-in one not", codes)
		}
		accepted(t, r, devSecret, "demo", "http", `{"shadowed":true}`, nil)
		if h := arrived(t, hk, `{"shadowed":true}`); h.Header.Get("X-Rule") != "misbehave" {
			t.Errorf("the tenant's http rule did not run: %v", h.Header)
		}
		// The other tenant still gets the built-in http rule.
		accepted(t, r, other, "other", "http", `{"builtin":true}`, nil)
		if h := arrived(t, otherHook, `{"builtin":true}`); h.Header.Get("X-Rule") != "" || h.Header.Get("Content-Type") != "application/json" {
			t.Errorf("the other tenant's http callback: %v", h.Header)
		}

		if _, err := rules.DeleteRule(ctx, connect.NewRequest(&callgatev1.DeleteRuleRequest{Code: "http"})); err != nil {
			t.Fatal(err)
		}
		accepted(t, r, devSecret, "demo", "http", `{"builtin":"again"}`, nil)
		if h := arrived(t, hk, `{"builtin":"again"}`); h.Header.Get("X-Rule") != "" {
			t.Errorf("after DeleteRule the tenant's http rule still ran: %v", h.Header)
		}
		got, err := rules.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: "http"}))
		if err != nil || !slices.Equal(ruleCodes(got.Msg.GetVersions()), []string{"http@0 builtin active"}) {
			t.Errorf("GetRule http after delete: %v %v", got, err)
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := rules.DeleteRule(ctx, connect.NewRequest(&callgatev1.DeleteRuleRequest{Code: "custom"})); err != nil {
			t.Fatal(err)
		}
		if status, env := submit(t, r, devSecret, "demo", "custom", "after delete", nil); status != http.StatusNotFound || env.Code != "ResourceNotFound.Rule" {
			t.Errorf("submit after delete: %d %+v", status, env)
		}
		_, err := rules.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: "custom"}))
		if stableCode(err) != "ResourceNotFound.Rule" {
			t.Errorf("get after delete: %v", err)
		}
		_, err = rules.DeleteRule(ctx, connect.NewRequest(&callgatev1.DeleteRuleRequest{Code: "custom"}))
		if stableCode(err) != "ResourceNotFound.Rule" {
			t.Errorf("delete again: %v", err)
		}
		// The other tenant's rule of that code is untouched.
		accepted(t, r, other, "other", "custom", "other custom again", nil)
		arrived(t, otherHook, "other custom again")
	})

	t.Run("bad_modules_refused", func(t *testing.T) {
		for _, tc := range []struct {
			name, code string
			wasm       []byte
			errCode    string
			says       string
		}{
			{"garbage", "junk", []byte("this is not WebAssembly at all"), "InvalidParameterValue", "not a valid rule"},
			{"import_outside_the_abi", "sneaky", watModule(t, "forbidden_import"), "InvalidParameterValue", "env.http_get"},
			{"no_bytes", "empty", nil, "InvalidParameter.ParamError", "wasm"},
			{"bad_code", "Bad Code!", misbehave, "InvalidParameterValue", "code"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				// As curl would send it: JSON, the module in base64.
				e, body := rpcJSON(t, r, devSecret, "/callgate.v1.RuleService/PutRule",
					map[string]string{"code": tc.code, "wasm": base64.StdEncoding.EncodeToString(tc.wasm)})
				if e.Status != http.StatusBadRequest || e.Code != tc.errCode || !strings.Contains(e.Message, tc.says) {
					t.Errorf("got %+v (%s), want 400 %s saying %q", e, body, tc.errCode, tc.says)
				}
				if _, err := rules.GetRule(ctx, connect.NewRequest(&callgatev1.GetRuleRequest{Code: tc.code})); stableCode(err) != "ResourceNotFound.Rule" {
					t.Errorf("a refused module was stored: %v", err)
				}
			})
		}
	})
}
