package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// retryMs is a retry policy of the given delays in milliseconds.
func retryMs(ms ...int32) *callgatev1.RetryPolicy {
	return &callgatev1.RetryPolicy{ScheduleMs: append([]int32{}, ms...)}
}

// addPolicyConfig adds a config with a delivery policy for the tenant
// whose secret is given, and returns its id.
func addPolicyConfig(t *testing.T, r *running, secret, url string, retry *callgatev1.RetryPolicy, rate *callgatev1.RateLimit) string {
	t.Helper()
	c := callgatev1connect.NewConfigServiceClient(http.DefaultClient, r.base, bearer(secret))
	resp, err := c.ModifyCallbackConfig(timeout(t, 10*time.Second), connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
		OperateType:  1,
		Operator:     &callgatev1.UserInfo{UserId: "policy-test"},
		CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: url, Retry: retry, Rate: rate},
	}))
	if err != nil {
		t.Fatalf("add config %s: %v", url, err)
	}
	return resp.Msg.GetConfigId()
}

// setTenantRetry gives a tenant its own retry schedule.
func setTenantRetry(t *testing.T, r *running, tenant string, retry *callgatev1.RetryPolicy) {
	t.Helper()
	c := callgatev1connect.NewTenantServiceClient(http.DefaultClient, r.base, bearer(adminToken))
	resp, err := c.UpdateTenant(timeout(t, 10*time.Second), connect.NewRequest(&callgatev1.UpdateTenantRequest{
		Tenant: &callgatev1.Tenant{Id: tenant, Retry: retry},
	}))
	if err != nil || len(resp.Msg.GetTenant().GetRetry().GetScheduleMs()) != len(retry.GetScheduleMs()) {
		t.Fatalf("update tenant %s: %v %v", tenant, resp, err)
	}
}

// submitOne posts one callback and returns its only delivery's id.
func submitOne(t *testing.T, r *running, secret, tenant, rule, content string) string {
	t.Helper()
	status, env := submit(t, r, secret, tenant, rule, content, nil)
	if status != http.StatusOK || len(env.Result.DeliveryIDs) != 1 {
		t.Fatalf("submit: %d %+v", status, env)
	}
	return env.Result.DeliveryIDs[0]
}

func dead(d *callgatev1.GetDeliveryResponse) bool { return d.GetDelivery().GetStatus() == "dead" }

// waitMetrics scrapes until every want shows, or a while has passed, and
// returns the last scrape.
func waitMetrics(t *testing.T, r *running, wants ...string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := scrape(t, r)
		missing := false
		for _, w := range wants {
			missing = missing || !strings.Contains(m, w)
		}
		if !missing || time.Now().After(deadline) {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func scrape(t *testing.T, r *running) string {
	t.Helper()
	resp, err := http.Get(r.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestDeliveryPolicy runs callbacks through a real gateway and its http
// plugin to loopback receivers, and checks which retry schedule wins
// (the rule's, then the config's, then the tenant's, then the gateway's),
// that a changed policy applies to a delivery already waiting, that bad
// policies are refused, and what the per-endpoint metrics show. Each case
// has a tenant of its own, since the http rule sends to every config.
func TestDeliveryPolicy(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	failing := func(int, hit) (int, string) { return http.StatusInternalServerError, "down" }

	var scheduleConfig, scheduleSecret string
	t.Run("config_schedule", func(t *testing.T) {
		secret := newTenant(t, r, "pol-config")
		scheduleSecret = secret
		hk := newHook(t, failing)
		scheduleConfig = addPolicyConfig(t, r, secret, hk.URL, retryMs(100, 100, 100), nil)
		id := submitOne(t, r, secret, "pol-config", "http", `{"n":1}`)
		d := waitDelivery(t, r, secret, id, 30*time.Second, "the delivery to die", dead)
		if n := len(d.GetAttempts()); n != 4 || len(hk.got()) != 4 {
			t.Errorf("%d attempts, %d requests; want 4: the first and the config's 3 retries", n, len(hk.got()))
		}
	})

	t.Run("tenant_default", func(t *testing.T) {
		secret := newTenant(t, r, "pol-tenant")
		setTenantRetry(t, r, "pol-tenant", retryMs(100, 100))
		hk := newHook(t, failing)
		addPolicyConfig(t, r, secret, hk.URL, nil, nil)
		id := submitOne(t, r, secret, "pol-tenant", "http", `{"n":1}`)
		d := waitDelivery(t, r, secret, id, 30*time.Second, "the delivery to die", dead)
		if n := len(d.GetAttempts()); n != 3 {
			t.Errorf("%d attempts; want 3: the first and the tenant's 2 retries", n)
		}
	})

	t.Run("rule_schedule_wins", func(t *testing.T) {
		// The ebaas rule sets the EBaaS schedule (a retry after 1 s); the
		// tenant and the config both say no retries.
		secret := newTenant(t, r, "pol-rule")
		setTenantRetry(t, r, "pol-rule", retryMs())
		hk := newHook(t, func(n int, _ hit) (int, string) {
			if n == 1 {
				return http.StatusInternalServerError, "down"
			}
			return http.StatusOK, `{"code":"000"}`
		})
		addPolicyConfig(t, r, secret, hk.URL, retryMs(), nil)
		id := submitOne(t, r, secret, "pol-rule", "ebaas",
			`{"event_source":"crm","event_topic":"order","event_type":"paid","event_status":1,"changes":[{"field":"a"}]}`)
		d := waitDelivery(t, r, secret, id, 30*time.Second, "the delivery to end",
			func(d *callgatev1.GetDeliveryResponse) bool { return succeeded(d) || dead(d) })
		if !succeeded(d) || len(d.GetAttempts()) != 2 {
			t.Errorf("delivery %s after %d attempts; want succeeded after 2, on the rule's schedule",
				d.GetDelivery().GetStatus(), len(d.GetAttempts()))
		}
	})

	t.Run("change_applies_to_pending", func(t *testing.T) {
		secret := newTenant(t, r, "pol-change")
		second, release := make(chan struct{}), make(chan struct{})
		t.Cleanup(func() {
			select {
			case <-release:
			default:
				close(release)
			}
		})
		hk := newHook(t, func(n int, _ hit) (int, string) {
			if n == 2 {
				close(second)
				<-release
			}
			return http.StatusInternalServerError, "down"
		})
		cfg := addPolicyConfig(t, r, secret, hk.URL, retryMs(100, 100, 100, 100, 100), nil)
		id := submitOne(t, r, secret, "pol-change", "http", `{"n":1}`)
		select {
		case <-second:
		case <-time.After(30 * time.Second):
			t.Fatal("no second attempt")
		}
		// While the second attempt is out, cut the schedule to one retry:
		// the second attempt is then the last.
		c := callgatev1connect.NewConfigServiceClient(http.DefaultClient, r.base, bearer(secret))
		resp, err := c.SetCallbackConfigPolicy(timeout(t, 10*time.Second), connect.NewRequest(
			&callgatev1.SetCallbackConfigPolicyRequest{Id: cfg, Retry: retryMs(100)}))
		if err != nil || len(resp.Msg.GetConfig().GetRetry().GetScheduleMs()) != 1 {
			t.Fatalf("SetCallbackConfigPolicy: %v %v", resp, err)
		}
		close(release)
		d := waitDelivery(t, r, secret, id, 30*time.Second, "the delivery to die", dead)
		if n := len(d.GetAttempts()); n != 2 {
			t.Errorf("%d attempts; want 2, the changed policy's", n)
		}
	})

	t.Run("bad_policies_refused", func(t *testing.T) {
		secret := newTenant(t, r, "pol-bad")
		cfg := addPolicyConfig(t, r, secret, "http://127.0.0.1:9/ok", nil, nil)
		fifty := make([]int32, 51)
		for i := range fifty {
			fifty[i] = 1000
		}
		add := func(retry, rate any) map[string]any {
			info := map[string]any{"callbackUrl": "http://127.0.0.1:9/bad"}
			if retry != nil {
				info["retry"] = retry
			}
			if rate != nil {
				info["rate"] = rate
			}
			return map[string]any{"operateType": 1, "callbackInfo": info}
		}
		const (
			modify = "/callgate.v1.ConfigService/ModifyCallbackConfig"
			set    = "/callgate.v1.ConfigService/SetCallbackConfigPolicy"
			update = "/callgate.v1.TenantService/UpdateTenant"
		)
		for _, tc := range []struct {
			name, token, procedure string
			msg                    any
		}{
			{"too_many_retries", secret, modify, add(map[string]any{"scheduleMs": fifty}, nil)},
			{"delay_too_short", secret, modify, add(map[string]any{"scheduleMs": []int{1000, 99}}, nil)},
			{"delay_too_long", secret, modify, add(map[string]any{"scheduleMs": []int{7*86400*1000 + 1}}, nil)},
			{"negative_delay", secret, modify, add(map[string]any{"scheduleMs": []int{-1000}}, nil)},
			{"zero_rate", secret, modify, add(nil, map[string]any{"perSecond": 0})},
			{"negative_rate", secret, modify, add(nil, map[string]any{"perSecond": -1})},
			{"huge_rate", secret, modify, add(nil, map[string]any{"perSecond": 1e6})},
			{"negative_burst", secret, modify, add(nil, map[string]any{"perSecond": 5, "burst": -1})},
			{"set_bad_delay", secret, set, map[string]any{"id": cfg, "retry": map[string]any{"scheduleMs": []int{50}}}},
			{"set_bad_rate", secret, set, map[string]any{"id": cfg, "rate": map[string]any{"perSecond": -2}}},
			{"tenant_bad_delay", adminToken, update, map[string]any{"tenant": map[string]any{"id": "pol-bad",
				"retry": map[string]any{"scheduleMs": []int{10}}}}},
			{"tenant_too_many", adminToken, update, map[string]any{"tenant": map[string]any{"id": "pol-bad",
				"retry": map[string]any{"scheduleMs": fifty}}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				e, body := rpcJSON(t, r, tc.token, tc.procedure, tc.msg)
				if e.Status != http.StatusBadRequest || e.Code != "InvalidParameterValue" {
					t.Errorf("%s answered %d %q: %s; want 400 InvalidParameterValue", tc.procedure, e.Status, e.Code, body)
				}
			})
		}
		// Nothing was added by the refused calls, and a good policy shows.
		e, body := rpcJSON(t, r, secret, set, map[string]any{"id": cfg,
			"retry": map[string]any{"scheduleMs": []int{100, 604800000}}, "rate": map[string]any{"perSecond": 2.5, "burst": 4}})
		if e.Status != http.StatusOK {
			t.Fatalf("set a good policy: %d %s", e.Status, body)
		}
		_, body = rpcJSON(t, r, secret, "/callgate.v1.ConfigService/ListCallbackConfigs", map[string]any{})
		var list callgatev1.ListCallbackConfigsResponse
		if err := protojson.Unmarshal(body, &list); err != nil || len(list.GetConfigs()) != 1 {
			t.Fatalf("ListCallbackConfigs: %v %s; want the one good config", err, body)
		}
		want := &callgatev1.CallbackConfig{Retry: retryMs(100, 604800000), Rate: &callgatev1.RateLimit{PerSecond: 2.5, Burst: 4}}
		got := list.GetConfigs()[0]
		if !proto.Equal(got.GetRetry(), want.GetRetry()) || !proto.Equal(got.GetRate(), want.GetRate()) {
			t.Errorf("ListCallbackConfigs shows retry %v, rate %v; want %v, %v", got.GetRetry(), got.GetRate(), want.GetRetry(), want.GetRate())
		}
		if e, _ := rpcJSON(t, r, secret, set, map[string]any{"id": "cfg_missing"}); e.Status != http.StatusNotFound {
			t.Errorf("SetCallbackConfigPolicy of a missing config: %d %q", e.Status, e.Code)
		}
	})

	t.Run("rate", func(t *testing.T) {
		// Every callback goes to both configs: the one with a rate of 5/s
		// gets them spread out, the other gets them all while the first is
		// still draining.
		const n = 20
		secret := newTenant(t, r, "pol-rate")
		rated := newHook(t, nil)
		var ratedWhenFreeDone atomic.Int64
		free := newHook(t, func(k int, _ hit) (int, string) {
			if k == n {
				ratedWhenFreeDone.Store(int64(len(rated.got())))
			}
			return http.StatusOK, ""
		})
		ratedID := addPolicyConfig(t, r, secret, rated.URL, nil, &callgatev1.RateLimit{PerSecond: 5})
		freeID := addPolicyConfig(t, r, secret, free.URL, nil, nil)
		for i := range n {
			status, env := submit(t, r, secret, "pol-rate", "http", fmt.Sprintf(`{"n":%d}`, i), nil)
			if status != http.StatusOK || len(env.Result.DeliveryIDs) != 2 {
				t.Fatalf("submit %d: %d %+v", i, status, env)
			}
		}
		free.wait(t, 30*time.Second, "every callback at the endpoint without a rate", func(h []hit) bool { return len(h) == n })
		rated.wait(t, 60*time.Second, "every callback at the rated endpoint", func(h []hit) bool { return len(h) == n })
		if got := ratedWhenFreeDone.Load(); got >= n {
			t.Errorf("the rated endpoint had all %d callbacks before the other had its last: not rated, or the other was held up", got)
		}
		// An attempt is counted once recorded, a moment after its
		// receiver answered.
		wants := []string{
			fmt.Sprintf(`callgate_endpoint_attempts_total{config_id=%q,outcome="delivered"} %d`, ratedID, n),
			fmt.Sprintf(`callgate_endpoint_attempts_total{config_id=%q,outcome="delivered"} %d`, freeID, n),
			fmt.Sprintf(`callgate_endpoint_deferred_total{config_id=%q,reason="rate"}`, ratedID),
		}
		m := waitMetrics(t, r, wants...)
		for _, want := range wants {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if strings.Contains(m, fmt.Sprintf(`callgate_endpoint_deferred_total{config_id=%q,reason="rate"}`, freeID)) {
			t.Error("the endpoint without a rate was deferred by rate")
		}
	})

	t.Run("metrics", func(t *testing.T) {
		if scheduleConfig == "" {
			t.Skip("config_schedule did not run")
		}
		wants := []string{
			fmt.Sprintf(`callgate_endpoint_attempts_total{config_id=%q,outcome="retryable"} 4`, scheduleConfig),
			fmt.Sprintf(`callgate_endpoint_breaker_state{config_id=%q} 0`, scheduleConfig),
		}
		m := waitMetrics(t, r, wants...)
		for _, want := range wants {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		// Deleting the config drops its series.
		c := callgatev1connect.NewConfigServiceClient(http.DefaultClient, r.base, bearer(scheduleSecret))
		list, err := c.ListCallbackConfigs(timeout(t, 10*time.Second), connect.NewRequest(&callgatev1.ListCallbackConfigsRequest{}))
		if err != nil || len(list.Msg.GetConfigs()) != 1 {
			t.Fatalf("list configs: %v %v", list, err)
		}
		if _, err := c.ModifyCallbackConfig(timeout(t, 10*time.Second), connect.NewRequest(&callgatev1.ModifyCallbackConfigRequest{
			OperateType: 2, CallbackInfo: &callgatev1.CallbackInfo{CallbackUrl: list.Msg.GetConfigs()[0].GetCallbackUrl()},
		})); err != nil {
			t.Fatalf("delete config: %v", err)
		}
		if m := scrape(t, r); strings.Contains(m, scheduleConfig) {
			t.Errorf("the deleted config's series remain:\n%s", m)
		}
	})
}
