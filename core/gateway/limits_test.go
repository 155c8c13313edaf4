package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/gateway"
)

// limitAnswer is what one call answered, read from the wire.
type limitAnswer struct {
	status     int
	retryAfter string
	stable     string // Callgate-Error-Code, or the seed envelope's code
	body       string
}

func limitPost(t *testing.T, url, secret, body string) limitAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := limitAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"),
		stable: resp.Header.Get("Callgate-Error-Code"), body: string(raw)}
	if a.stable == "" {
		var env struct{ Code string }
		_ = json.Unmarshal(raw, &env)
		a.stable = env.Code
	}
	return a
}

// limitTenant makes a tenant with the admin token (the admin API is not
// limited) and returns its app key and secret.
func limitTenant(t *testing.T, r *running, id string) (key, secret string) {
	t.Helper()
	if status, b := post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/CreateTenant", gateway.DevAdminToken,
		`{"tenant":{"id":"`+id+`"}}`); status != http.StatusOK {
		t.Fatalf("create tenant: %d %s", status, b)
	}
	_, b := post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/CreateAppKey", gateway.DevAdminToken, `{"tenantId":"`+id+`"}`)
	var k struct{ AppKey, Secret string }
	if err := json.Unmarshal([]byte(b), &k); err != nil || k.Secret == "" {
		t.Fatalf("create app key: %s", b)
	}
	return k.AppKey, k.Secret
}

func wantLimited(t *testing.T, what string, a limitAnswer) {
	t.Helper()
	if a.status != http.StatusTooManyRequests || a.stable != "LimitExceeded" {
		t.Fatalf("%s: %d %q %s, want 429 LimitExceeded", what, a.status, a.stable, a.body)
	}
	if n, err := strconv.Atoi(a.retryAfter); err != nil || n < 1 || n > 2 {
		t.Errorf("%s: Retry-After %q, want 1 or 2 seconds", what, a.retryAfter)
	}
}

func TestRateLimits(t *testing.T) {
	cfg := testConfig(t.TempDir())
	// Slow enough that a quick third call finds the bucket empty on any
	// machine: a token comes back every 2 s.
	cfg.ManageRate, cfg.ManageBurst = 0.5, 2
	cfg.IngestRate, cfg.IngestBurst = 0.5, 1
	r := start(t, cfg)
	otherKey, otherSecret := limitTenant(t, r, "other")
	list := r.base + "/callgate.v1.ConfigService/ListCallbackConfigs"

	t.Run("management", func(t *testing.T) {
		for i := range 2 {
			if a := limitPost(t, list, gateway.DevSecret, `{}`); a.status != http.StatusOK {
				t.Fatalf("call %d: %d %s", i+1, a.status, a.body)
			}
		}
		// The bucket is shared by every management service, and TC3.
		wantLimited(t, "third management call", limitPost(t, r.base+"/callgate.v1.RuleService/ListRules", gateway.DevSecret, `{}`))
		if code, _ := tc3Call(t, r, gateway.DevAppKey, gateway.DevSecret, tc3Body(2, "http://127.0.0.1:9/x", "", "")); code != "RequestLimitExceeded" {
			t.Errorf("TC3 over the limit: %q, want RequestLimitExceeded", code)
		}
		// Another tenant has its own bucket.
		if a := limitPost(t, list, otherSecret, `{}`); a.status != http.StatusOK {
			t.Errorf("another tenant: %d %s", a.status, a.body)
		}
		if code, msg := tc3Call(t, r, otherKey, otherSecret, tc3Body(2, "http://127.0.0.1:9/x", "", "")); code != "FailedOperation" {
			t.Errorf("another tenant over TC3: %q %q, want FailedOperation (the config does not exist)", code, msg)
		}
		// Admin calls are not a tenant's.
		for range 3 {
			if status, b := post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/ListTenants", gateway.DevAdminToken, `{}`); status != http.StatusOK {
				t.Fatalf("admin call: %d %s", status, b)
			}
		}
	})

	t.Run("ingest", func(t *testing.T) {
		seed := r.base + "/" + gateway.DevTenant + "/message/v1/callbacks"
		// No config, so the callback is refused, but it took a token.
		if a := limitPost(t, seed, gateway.DevSecret, `{"content":"x"}`); a.status == http.StatusTooManyRequests {
			t.Fatalf("first callback: %d %s", a.status, a.body)
		}
		a := limitPost(t, seed, gateway.DevSecret, `{"content":"x"}`)
		wantLimited(t, "second callback on the seed path", a)
		var env struct{ Code, Message, RequestID string }
		if err := json.Unmarshal([]byte(a.body), &env); err != nil || env.RequestID == "" || env.Message == "" {
			t.Errorf("not the seed envelope: %s", a.body)
		}
		wantLimited(t, "SubmitCallback over Connect", limitPost(t, r.base+"/callgate.v1.CallbackService/SubmitCallback",
			gateway.DevSecret, `{"content":"x"}`))
		// A batch draws from the same bucket, one token a callback.
		wantLimited(t, "a batch on the seed path", limitPost(t, seed+"/batch", gateway.DevSecret, `{"callbacks":[{"content":"x"}]}`))
		wantLimited(t, "SubmitCallbacks over Connect", limitPost(t, r.base+"/callgate.v1.CallbackService/SubmitCallbacks",
			gateway.DevSecret, `{"callbacks":[{"content":"x"}]}`))
		if a := limitPost(t, r.base+"/other/message/v1/callbacks", otherSecret, `{"content":"x"}`); a.status == http.StatusTooManyRequests {
			t.Errorf("another tenant's callback: %d %s", a.status, a.body)
		}
		// Wrong credentials are refused as before, not counted.
		if a := limitPost(t, seed, "wrong", `{"content":"x"}`); a.status != http.StatusUnauthorized {
			t.Errorf("wrong secret: %d %s", a.status, a.body)
		}
	})
}
