package gateway_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestTenantOwnLimits: UpdateTenant gives one tenant limits of its own,
// which apply at once; another tenant keeps the gateway's.
func TestTenantOwnLimits(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	c := http.DefaultClient
	if s, b := post(t, c, r.base+"/callgate.v1.TenantService/CreateTenant", "dev-admin-token", `{"tenant":{"id":"other"}}`); s != 200 {
		t.Fatalf("create tenant: %d %s", s, b)
	}
	_, body := post(t, c, r.base+"/callgate.v1.TenantService/CreateAppKey", "dev-admin-token", `{"tenantId":"other"}`)
	otherSecret := between(body, `"secret":"`, `"`)
	s, b := post(t, c, r.base+"/callgate.v1.TenantService/UpdateTenant", "dev-admin-token",
		`{"tenant":{"id":"demo","limits":{"manageRate":0.5,"manageBurst":1}}}`)
	if s != 200 || !strings.Contains(b, `"manageRate":0.5`) {
		t.Fatalf("update tenant: %d %s", s, b)
	}
	list := func(secret string) int {
		s, _ := post(t, c, r.base+"/callgate.v1.ConfigService/ListCallbackConfigs", secret, `{}`)
		return s
	}
	if got := list("demo-secret"); got != 200 {
		t.Fatalf("first call: %d", got)
	}
	if got := list("demo-secret"); got != 429 {
		t.Errorf("second call within the tenant's own limit: %d, want 429", got)
	}
	for i := range 5 {
		if got := list(otherSecret); got != 200 {
			t.Fatalf("other tenant call %d: %d", i, got)
		}
	}
	// No limit of its own any more: a negative rate lifts it.
	post(t, c, r.base+"/callgate.v1.TenantService/UpdateTenant", "dev-admin-token", `{"tenant":{"id":"demo","limits":{"manageRate":-1}}}`)
	for i := range 5 {
		if got := list("demo-secret"); got != 200 {
			t.Fatalf("call %d without a limit: %d", i, got)
		}
	}
	// A rule time limit of the tenant's own, bounded.
	if s, b := post(t, c, r.base+"/callgate.v1.TenantService/UpdateTenant", "dev-admin-token",
		`{"tenant":{"id":"demo","limits":{"ruleTimeMs":20}}}`); s != 200 || !strings.Contains(b, `"ruleTimeMs":20`) {
		t.Errorf("rule time limit: %d %s", s, b)
	}
	if s, _ := post(t, c, r.base+"/callgate.v1.TenantService/UpdateTenant", "dev-admin-token",
		`{"tenant":{"id":"demo","limits":{"ruleTimeMs":5000}}}`); s != 400 {
		t.Errorf("a 5 s rule time limit: %d, want 400", s)
	}
	// Memory and output limits of the tenant's own, bounded too.
	for _, tt := range []struct {
		limits string
		status int
	}{
		{`{"ruleTimeMs":20,"ruleMemoryMib":4,"ruleOutputKib":64}`, 200},
		{`{"ruleMemoryMib":512}`, 400},
		{`{"ruleMemoryMib":-1}`, 400},
		{`{"ruleOutputKib":20000}`, 400},
	} {
		s, b := post(t, c, r.base+"/callgate.v1.TenantService/UpdateTenant", "dev-admin-token",
			`{"tenant":{"id":"demo","limits":`+tt.limits+`}}`)
		if s != tt.status || (s == 200 && !strings.Contains(b, `"ruleMemoryMib":4`)) {
			t.Errorf("limits %s: %d %s, want %d", tt.limits, s, b, tt.status)
		}
	}
	if s, b := post(t, c, r.base+"/demo/message/v1/callbacks", "demo-secret", `{"content":"x"}`); s != 400 || !strings.Contains(b, "NoCallbackConfig") {
		t.Errorf("callback under the tenant's rule limit: %d %s", s, b)
	}
	if s, _ := post(t, c, r.base+"/callgate.v1.TenantService/UpdateTenant", "dev-admin-token", `{"tenant":{"id":"nobody"}}`); s != 404 {
		t.Errorf("update unknown tenant: %d", s)
	}
}
