package gateway_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/core/gateway"
	"github.com/callgate/callgate/core/pluginhost"
	httpplugin "github.com/callgate/callgate/plugins/http"
	"github.com/callgate/callgate/sdk/sender"
)

// TestMain doubles as the http sender plugin: the gateway under test starts
// this test binary again as a real plugin process.
func TestMain(m *testing.M) {
	if os.Getenv("CALLGATE_TEST_PLUGIN") == "http" {
		sender.Serve(httpplugin.New())
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "callgate-gateway-test")
	if err != nil {
		panic(err)
	}
	ruleCache = filepath.Join(dir, "rule-cache")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ruleCache is shared by the gateways of these tests, so the built-in
// rules are compiled once.
var ruleCache string

func testConfig(dir string) gateway.Config {
	cfg := gateway.Defaults()
	cfg.Dev = true
	cfg.DataDir = dir
	cfg.RuleCacheDir = ruleCache
	cfg.BuiltinPlugins = []pluginhost.Spec{{
		Name: "http",
		Cmd:  []string{os.Args[0]},
		Env:  []string{"CALLGATE_TEST_PLUGIN=http"},
	}}
	return cfg
}

// running is a gateway serving on a loopback port.
type running struct {
	base string
	stop func()
}

func start(tb testing.TB, cfg gateway.Config) *running {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	g, err := gateway.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, ln) }()
	r := &running{base: "http://" + ln.Addr().String()}
	// Ready means the plugins are up and the built-in rules compiled.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		resp, err := http.Get(r.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("gateway not ready: %v", err)
		}
	}
	var stopped atomic.Bool
	r.stop = func() {
		if stopped.Swap(true) {
			return
		}
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("serve: %v", err)
		}
		if err := g.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	}
	tb.Cleanup(r.stop)
	return r
}

func post(tb testing.TB, client *http.Client, url, token, body string) (int, string) {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHealthAndReadiness(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(r.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestDataFolderIsLocked(t *testing.T) {
	dir := t.TempDir()
	start(t, testConfig(dir))
	_, err := gateway.Open(context.Background(), testConfig(dir), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second gateway on one folder: %v", err)
	}
}

func TestDevBootstrapSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	r := start(t, testConfig(dir))
	r.stop()
	r = start(t, testConfig(dir))
	status, body := post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/ListTenants", "dev-admin-token", `{}`)
	if status != 200 || !strings.Contains(body, `"demo"`) {
		t.Fatalf("tenants after restart: %d %s", status, body)
	}
}

func TestWithoutDevNothingIsOpen(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Dev = false
	r := start(t, cfg)
	if status, _ := post(t, http.DefaultClient, r.base+"/callgate.v1.TenantService/ListTenants", "dev-admin-token", `{}`); status != 401 {
		t.Errorf("admin API without a configured token: %d, want 401", status)
	}
	if status, _ := post(t, http.DefaultClient, r.base+"/demo/message/v1/callbacks", "demo-secret", `{"content":"x"}`); status != 401 {
		t.Errorf("demo credentials without --dev: %d, want 401", status)
	}
}

// TestPrivateDestinationsRefusedByDefault: without --dev the http channel
// will not reach loopback, and the delivery dies with a clear reason
// instead of being retried for days.
func TestPrivateDestinationsRefusedByDefault(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Dev = false
	cfg.AdminToken = "admin"
	var hits atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer rcv.Close()
	r := start(t, cfg)
	c := http.DefaultClient
	post(t, c, r.base+"/callgate.v1.TenantService/CreateTenant", "admin", `{"tenant":{"id":"t1"}}`)
	_, body := post(t, c, r.base+"/callgate.v1.TenantService/CreateAppKey", "admin", `{"tenantId":"t1"}`)
	secret := between(body, `"secret":"`, `"`)
	if status, b := post(t, c, r.base+"/callgate.v1.ConfigService/ModifyCallbackConfig", secret,
		fmt.Sprintf(`{"operateType":1,"callbackInfo":{"callbackUrl":%q}}`, rcv.URL)); status != 200 {
		t.Fatalf("add config: %d %s", status, b)
	}
	status, b := post(t, c, r.base+"/t1/message/v1/callbacks", secret, `{"content":"x"}`)
	if status != 200 {
		t.Fatalf("submit: %d %s", status, b)
	}
	id := between(b, `"deliveryIds":["`, `"`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, d := post(t, c, r.base+"/callgate.v1.DeliveryService/GetDelivery", secret, fmt.Sprintf(`{"id":%q}`, id))
		if strings.Contains(d, `"status":"dead"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery not dead: %s", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback receiver was reached %d times", hits.Load())
	}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "callgate.yaml")
	if err := os.WriteFile(file, []byte("addr: 127.0.0.1:7000\ndata: /from/file\nsynchronous: FULL\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := gateway.Defaults()
	if err := cfg.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CALLGATE_ADDR": "127.0.0.1:7001", "CALLGATE_DEV": "true"}
	if err := cfg.LoadEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:7001" || cfg.DataDir != "/from/file" || cfg.Synchronous != "FULL" || !cfg.Dev {
		t.Errorf("config = %+v", cfg)
	}
	if err := os.WriteFile(file, []byte("adress: typo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cfg.LoadFile(file); err == nil {
		t.Error("an unknown key was accepted")
	}
	if err := cfg.LoadEnv(func(k string) string { return map[string]string{"CALLGATE_DEV": "maybe"}[k] }); err == nil {
		t.Error("CALLGATE_DEV=maybe was accepted")
	}
}
