package main_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

func bearer(token string) connect.ClientOption {
	return connect.WithInterceptors(connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			req.Header().Set("Authorization", "Bearer "+token)
			return next(ctx, req)
		}
	}))
}

// TestCallbackArrivesSignedAndEncrypted is the README's quickstart: a
// config is added, a callback posted on the seed path, and it arrives at a
// real receiver signed, encrypted and with a stable id.
func TestCallbackArrivesSignedAndEncrypted(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	const key, token = "0123456789abcdef0123456789abcdef", "whsec_c2VjcmV0LXRva2Vu"
	g.addConfig(rc.url, key, token)

	content := `{"event_type":"order.paid","event_key":"42"}`
	status, env := g.submit(content)
	if status != http.StatusOK || env.Code != "OK" {
		t.Fatalf("submit: %d %+v", status, env)
	}
	if env.RequestID == "" || env.Result["messageId"] == "" || env.Result["requestId"] != env.RequestID {
		t.Fatalf("answer lacks ids: %+v", env)
	}
	got := rc.waitFor(t, 20*time.Second, "the callback", func(r []received) bool { return len(r) == 1 })[0]
	ids := env.Result["deliveryIds"].([]any)
	if len(ids) != 1 || got.header.Get("webhook-id") != ids[0] {
		t.Errorf("webhook-id = %q, want the delivery id %v", got.header.Get("webhook-id"), ids)
	}
	if ts := got.header.Get("webhook-timestamp"); ts == "" {
		t.Error("no webhook-timestamp")
	}
	verifyStandard(t, token, got.header, got.body)
	if plain := decrypt(t, key, got.body); string(plain) != content {
		t.Errorf("decrypted body = %q, want %q", plain, content)
	}

	// The delivery and its attempt are visible to the tenant.
	client := callgatev1connect.NewDeliveryServiceClient(http.DefaultClient, g.base, bearer("demo-secret"))
	ctx := contextWithTimeout(t, 10*time.Second)
	var d *callgatev1.GetDeliveryResponse
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := client.GetDelivery(ctx, connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: ids[0].(string)}))
		if err != nil {
			t.Fatal(err)
		}
		if d = resp.Msg; d.Delivery.Status == "succeeded" {
			break
		}
	}
	if d.Delivery.Status != "succeeded" || len(d.Attempts) != 1 || d.Attempts[0].StatusCode != 200 || d.Attempts[0].Outcome != "delivered" {
		t.Errorf("delivery = %v", d)
	}
	list, err := client.ListDeliveries(ctx, connect.NewRequest(&callgatev1.ListDeliveriesRequest{}))
	if err != nil || len(list.Msg.Deliveries) != 1 {
		t.Fatalf("list deliveries: %v %v", list, err)
	}

	// A receipt is recorded against the delivery through the seed's path.
	var fb envelope
	if status := g.call("/message/v1/feedback/http", "demo-secret",
		map[string]string{"deliveryId": ids[0].(string), "status": "delivered", "detail": "shown to user"}, &fb); status != 200 {
		t.Fatalf("feedback: %d %+v", status, fb)
	}
	resp, err := client.GetDelivery(ctx, connect.NewRequest(&callgatev1.GetDeliveryRequest{Id: ids[0].(string)}))
	if err != nil || len(resp.Msg.Receipts) != 1 || resp.Msg.Receipts[0].Status != "delivered" {
		t.Fatalf("receipts: %v %v", resp, err)
	}
}

// TestConnectAndGRPC submits over Connect and over gRPC: same service,
// same answers.
func TestConnectAndGRPC(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	g.addConfig(rc.url, "", "plain-token")
	for _, tc := range []struct {
		name string
		opts []connect.ClientOption
	}{
		{"connect", nil},
		{"grpc", []connect.ClientOption{connect.WithGRPC()}},
		{"grpc_web", []connect.ClientOption{connect.WithGRPCWeb()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			httpClient := http.DefaultClient
			if tc.name == "grpc" {
				httpClient = h2cClient()
			}
			c := callgatev1connect.NewCallbackServiceClient(httpClient, g.base, append(tc.opts, bearer("demo-secret"))...)
			resp, err := c.SubmitCallback(contextWithTimeout(t, 10*time.Second), connect.NewRequest(&callgatev1.SubmitCallbackRequest{
				Content:    "via " + tc.name,
				Properties: &callgatev1.CallbackProperties{AppKey: "demo", Rule: "http"},
			}))
			if err != nil {
				t.Fatal(err)
			}
			if resp.Msg.MessageId == "" || resp.Msg.RequestId == "" || len(resp.Msg.DeliveryIds) != 1 {
				t.Fatalf("answer = %v", resp.Msg)
			}
			rc.waitFor(t, 20*time.Second, "the callback", func(r []received) bool {
				for _, x := range r {
					if string(x.body) == "via "+tc.name {
						verifyStandard(t, "plain-token", x.header, x.body)
						return true
					}
				}
				return false
			})
		})
	}
	// A wrong secret is Unauthenticated over Connect too.
	c := callgatev1connect.NewCallbackServiceClient(http.DefaultClient, g.base, bearer("nope"))
	_, err := c.SubmitCallback(contextWithTimeout(t, 5*time.Second), connect.NewRequest(&callgatev1.SubmitCallbackRequest{Content: "x"}))
	if connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Errorf("wrong secret: %v", err)
	}
}

// TestBatchArrives: callbacks sent in batches, on the seed path and over
// Connect, each arrive once, signed, through the http rule and plugin.
func TestBatchArrives(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	g.addConfig(rc.url, "", "plain-token")
	want := map[string]bool{}
	var cbs []map[string]any
	for i := range 40 {
		content := fmt.Sprintf(`{"batch":"rest","n":%d}`, i)
		want[content] = true
		cbs = append(cbs, map[string]any{"content": content, "properties": map[string]any{"rule": "http"}})
	}
	// One of them bad: it alone is refused.
	cbs = append(cbs, map[string]any{"content": "x", "properties": map[string]any{"rule": "no-such-rule"}})
	var env envelope
	if status := g.call("/demo/message/v1/callbacks/batch", "demo-secret", map[string]any{"callbacks": cbs}, &env); status != http.StatusOK {
		t.Fatalf("batch: %d %+v", status, env)
	}
	if env.Result["accepted"] != float64(40) || env.Result["refused"] != float64(1) {
		t.Fatalf("batch answer: %+v", env.Result)
	}
	c := callgatev1connect.NewCallbackServiceClient(http.DefaultClient, g.base, bearer("demo-secret"))
	req := &callgatev1.SubmitCallbacksRequest{}
	for i := range 10 {
		content := fmt.Sprintf(`{"batch":"connect","n":%d}`, i)
		want[content] = true
		req.Callbacks = append(req.Callbacks, &callgatev1.SubmitCallbackRequest{Content: content})
	}
	resp, err := c.SubmitCallbacks(contextWithTimeout(t, 10*time.Second), connect.NewRequest(req))
	if err != nil || resp.Msg.GetAccepted() != 10 {
		t.Fatalf("SubmitCallbacks: %v %v", resp, err)
	}
	got := rc.waitFor(t, 30*time.Second, "every callback of the batches", func(r []received) bool { return len(r) >= len(want) })
	seen := map[string]bool{}
	for _, x := range got {
		if !want[string(x.body)] || seen[string(x.body)] {
			t.Errorf("unexpected or repeated arrival %q", x.body)
		}
		seen[string(x.body)] = true
		verifyStandard(t, "plain-token", x.header, x.body)
	}
}

// TestBadInput checks that each kind of bad request gets its status and
// stable code inside the envelope, and the gateway keeps serving.
func TestBadInput(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	g.addConfig(rc.url, "", "")

	// A second tenant with its own key, made through the admin API.
	var created map[string]string
	if s := g.call("/callgate.v1.TenantService/CreateTenant", "dev-admin-token",
		map[string]any{"tenant": map[string]string{"id": "other", "name": "Other"}}, nil); s != 200 {
		t.Fatalf("create tenant: %d", s)
	}
	if s := g.call("/callgate.v1.TenantService/CreateAppKey", "dev-admin-token",
		map[string]string{"tenantId": "other"}, &created); s != 200 || created["secret"] == "" {
		t.Fatalf("create app key: %d %v", s, created)
	}
	if s := g.call("/callgate.v1.TenantService/ListTenants", "demo-secret", map[string]any{}, nil); s != 401 {
		t.Errorf("tenant secret on the admin API: %d, want 401", s)
	}

	big := strings.Repeat("x", 2<<20)
	cases := []struct {
		name, path, token, body string
		status                  int
		code                    string
	}{
		{"malformed_json", "/demo/message/v1/callbacks", "demo-secret", `{"content": `, 400, "InvalidParameter.ParamError"},
		{"empty_body", "/demo/message/v1/callbacks", "demo-secret", ``, 400, "InvalidParameter.ParamError"},
		{"missing_secret", "/demo/message/v1/callbacks", "", `{"content":"x"}`, 401, "UnauthorizedOperation"},
		{"wrong_secret", "/demo/message/v1/callbacks", "wrong", `{"content":"x"}`, 401, "UnauthorizedOperation"},
		{"other_tenants_key", "/demo/message/v1/callbacks", created["secret"], `{"content":"x"}`, 403, "UnauthorizedOperation.Forbidden"},
		{"app_key_not_mine", "/demo/message/v1/callbacks", "demo-secret", `{"content":"x","properties":{"appKey":"` + created["appKey"] + `"}}`, 403, "UnauthorizedOperation.Forbidden"},
		{"unknown_tenant", "/nobody/message/v1/callbacks", "demo-secret", `{"content":"x"}`, 403, "UnauthorizedOperation.Forbidden"},
		{"unknown_rule", "/demo/message/v1/callbacks", "demo-secret", `{"content":"x","properties":{"rule":"fax"}}`, 404, "ResourceNotFound.Rule"},
		{"no_config", "/other/message/v1/callbacks", created["secret"], `{"content":"x"}`, 400, "FailedOperation.NoCallbackConfig"},
		{"oversized", "/demo/message/v1/callbacks", "demo-secret", `{"content":"` + big + `"}`, 413, "LimitExceeded.BodyTooLarge"},
		{"feedback_unknown_delivery", "/message/v1/feedback/http", "demo-secret", `{"deliveryId":"dlv_nope","status":"delivered"}`, 404, "ResourceNotFound.Delivery"},
		{"feedback_missing_status", "/message/v1/feedback/http", "demo-secret", `{"deliveryId":"dlv_nope"}`, 400, "InvalidParameter.ParamError"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var env envelope
			status := g.call(tc.path, tc.token, tc.body, &env)
			if status != tc.status || env.Code != tc.code || env.RequestID == "" || env.Message == "" {
				t.Errorf("got %d %+v, want %d %s", status, env, tc.status, tc.code)
			}
		})
	}
	if status, env := g.submit("still serving"); status != 200 || env.Code != "OK" {
		t.Fatalf("after bad input: %d %+v", status, env)
	}
}

// TestConfigSemantics follows ModifyApplicationCallbackInfo: add only adds
// a URL not yet present, delete removes by URL, deleting a missing URL is
// FailedOperation, and listing never shows a key or token.
func TestConfigSemantics(t *testing.T) {
	g := startGateway(t, t.TempDir())
	const path = "/callgate.v1.ConfigService/ModifyCallbackConfig"
	modify := func(op int, url, key, token string) (int, map[string]any) {
		var out map[string]any
		s := g.call(path, "demo-secret", map[string]any{
			"operateType": op, "operator": map[string]string{"userId": "u1"},
			"callbackInfo": map[string]string{"callbackUrl": url, "callbackKey": key, "callbackToken": token},
		}, &out)
		return s, out
	}
	if s, out := modify(1, "https://example.com/cb", "0123456789abcdef0123456789abcdef", "tok-secret"); s != 200 || out["requestId"] == "" {
		t.Fatalf("add: %d %v", s, out)
	}
	if s, _ := modify(1, "https://example.com/cb", "", "changed"); s != 200 {
		t.Fatalf("add again: %d", s)
	}
	var list map[string]any
	g.call("/callgate.v1.ConfigService/ListCallbackConfigs", "demo-secret", map[string]any{}, &list)
	raw := fmt.Sprint(list)
	if strings.Contains(raw, "tok-secret") || strings.Contains(raw, "0123456789abcdef") || strings.Contains(raw, "changed") {
		t.Errorf("list shows a secret: %s", raw)
	}
	if cs := list["configs"].([]any); len(cs) != 1 || cs[0].(map[string]any)["hasCallbackToken"] != true {
		t.Errorf("configs = %v", cs)
	}
	for _, tc := range []struct {
		name       string
		op         int
		url, key   string
		status     int
		code, text string
	}{
		{"bad_key_length", 1, "https://example.com/other", "short", 400, "invalid_argument", "InvalidParameterValue"},
		{"bad_scheme", 1, "ftp://example.com/x", "", 400, "invalid_argument", "InvalidParameterValue"},
		{"credentials_in_url", 1, "https://u:p@example.com/x", "", 400, "invalid_argument", "InvalidParameterValue"},
		{"bad_operate_type", 3, "https://example.com/cb", "", 400, "invalid_argument", "InvalidParameterValue"},
		{"delete_missing", 2, "https://example.com/missing", "", 400, "failed_precondition", "当前配置不存在"},
		{"delete", 2, "https://example.com/cb", "", 200, "", ""},
		{"delete_again", 2, "https://example.com/cb", "", 400, "failed_precondition", "FailedOperation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, out := modify(tc.op, tc.url, tc.key, "")
			if s != tc.status || (tc.code != "" && out["code"] != tc.code) || !strings.Contains(fmt.Sprint(out["message"]), tc.text) {
				t.Errorf("got %d %v, want %d %s %s", s, out, tc.status, tc.code, tc.text)
			}
		})
	}
}

// TestRetryUntilSuccess: the receiver fails twice, then takes it; the
// delivery records three attempts with the same webhook-id.
func TestRetryUntilSuccess(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	g.addConfig(rc.url, "", "")
	if s, env := g.submit("retry me"); s != 200 {
		t.Fatalf("submit: %d %+v", s, env)
	}
	// Retries wait 1 s then 3 s (±10%).
	got := rc.waitFor(t, 30*time.Second, "three attempts", func(r []received) bool { return len(r) >= 3 })
	if got[0].header.Get("webhook-id") != got[2].header.Get("webhook-id") {
		t.Error("webhook-id changed between attempts")
	}
	time.Sleep(500 * time.Millisecond)
	if n := len(rc.requests()); n != 3 {
		t.Errorf("receiver got %d requests, want 3", n)
	}
}

// TestKillNineLosesNothing kills the gateway with SIGKILL in the middle of
// a load, restarts it on the same data, and checks that every callback it
// acknowledged reaches the receiver.
func TestKillNineLosesNothing(t *testing.T) {
	data := t.TempDir()
	g := startGateway(t, data)
	var seen sync.Map
	rc := newReceiver(t, nil)
	rc.answer = func(int) int { return http.StatusOK }
	g.addConfig(rc.url, "", "")

	var acked sync.Map
	var nAcked atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				content := fmt.Sprintf("w%d-%d", w, i)
				body := fmt.Sprintf(`{"content":%q}`, content)
				req, _ := http.NewRequest(http.MethodPost, g.base+"/demo/message/v1/callbacks", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer demo-secret")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // the gateway is gone
				}
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					acked.Store(content, true)
					nAcked.Add(1)
				}
			}
		}()
	}
	for nAcked.Load() < 300 {
		time.Sleep(10 * time.Millisecond)
	}
	g.kill()
	close(stop)
	wg.Wait()
	t.Logf("acknowledged %d callbacks before kill -9; receiver had %d", nAcked.Load(), len(rc.requests()))

	startGateway(t, data)
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		for _, r := range rc.requests() {
			seen.Store(string(r.body), true)
		}
		missing = missing[:0]
		acked.Range(func(k, _ any) bool {
			if _, ok := seen.Load(k); !ok {
				missing = append(missing, k.(string))
			}
			return true
		})
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("%d acknowledged callbacks never arrived, e.g. %v", len(missing), missing[:min(5, len(missing))])
	}
}
