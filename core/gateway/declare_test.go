package gateway_test

import (
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/gateway"
)

// TestDeclaredConfiguration applies a configuration file's tenants at
// start, twice (the second start changes nothing), and the declared
// credentials and config work.
func TestDeclaredConfiguration(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "callgate.yaml")
	t.Setenv("ACME_SECRET", "acme-secret-0123456789")
	t.Setenv("ACME_TOKEN", "acme-token")
	yaml := `tenants:
  - id: acme
    name: Acme
    retry: [10s, 1m]
    app_keys:
      - key: acme-main
        secret_env: ACME_SECRET
    configs:
      - url: https://acme.example/callbacks
        token_env: ACME_TOKEN
        retry: [1s, 5s]
        rate: 10
    channels:
      - id: mail
        plugin: http
        settings: {timeout_ms: "2000"}
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	for range 2 {
		cfg := testConfig(data)
		if err := cfg.LoadFile(file); err != nil {
			t.Fatal(err)
		}
		r := start(t, cfg)
		status, body := post(t, http.DefaultClient, r.base+"/callgate.v1.ConfigService/ListCallbackConfigs", "acme-secret-0123456789", `{}`)
		if status != 200 || strings.Count(body, "https://acme.example/callbacks") != 1 || !strings.Contains(body, `"hasCallbackToken":true`) ||
			!strings.Contains(compact(body), `"retry":{"scheduleMs":[1000,5000]}`) || !strings.Contains(compact(body), `"rate":{"perSecond":10}`) {
			t.Fatalf("configs: %d %s", status, body)
		}
		status, body = post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/ListTenants", adminToken, `{}`)
		if status != 200 || !strings.Contains(compact(body), `"retry":{"scheduleMs":[10000,60000]}`) {
			t.Fatalf("tenants: %d %s", status, body)
		}
		// The second start finds the policies as declared and changes nothing.
		status, body = post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/ListAuditEvents", adminToken, `{"tenantId":"acme"}`)
		if status != 200 || strings.Count(body, `"config.policy"`) != 1 || strings.Count(body, `"tenant.update"`) != 1 {
			t.Fatalf("audit: %d %s", status, body)
		}
		status, body = post(t, http.DefaultClient, r.base+"/callgate.v1.ChannelService/ListChannels", "acme-secret-0123456789", `{}`)
		if status != 200 || !strings.Contains(body, `"id":"mail"`) {
			t.Fatalf("channels: %d %s", status, body)
		}
		r.stop()
	}
	// A declared secret that is missing from the environment stops the start.
	os.WriteFile(file, []byte(strings.Replace(yaml, "ACME_SECRET", "NOT_SET_ANYWHERE", 1)), 0o600)
	cfg := testConfig(t.TempDir())
	if err := cfg.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.Open(t.Context(), cfg, discardLog()); err == nil || !strings.Contains(err.Error(), "NOT_SET_ANYWHERE") {
		t.Fatalf("missing variable: %v", err)
	}
	// So does a retry schedule the API would refuse.
	os.WriteFile(file, []byte(strings.Replace(yaml, "[1s, 5s]", "[10ms]", 1)), 0o600)
	cfg = testConfig(t.TempDir())
	if err := cfg.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if _, err := gateway.Open(t.Context(), cfg, discardLog()); err == nil || !strings.Contains(err.Error(), "scheduleMs") {
		t.Fatalf("a 10 ms retry: %v", err)
	}
}

// compact drops the spaces protojson puts, at random, between tokens.
func compact(body string) string { return strings.ReplaceAll(body, " ", "") }

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
