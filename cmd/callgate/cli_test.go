package main_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCLI drives the operator CLI against a real gateway, as an operator
// would from a shell.
func TestCLI(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	run := func(token string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append(cmd.Environ(), "CALLGATE_URL="+g.base, "CALLGATE_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	must := func(token string, args ...string) string {
		t.Helper()
		out, err := run(token, args...)
		if err != nil {
			t.Fatalf("callgate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	// Operator: a tenant and its key.
	must("dev-admin-token", "tenants", "create", "acme", "--name", "Acme")
	if out := must("dev-admin-token", "tenants", "list"); !strings.Contains(out, "acme") || !strings.Contains(out, "demo") {
		t.Errorf("tenants list:\n%s", out)
	}
	var key struct {
		AppKey string `json:"appKey"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(must("dev-admin-token", "keys", "create", "acme", "-o", "json")), &key); err != nil || key.Secret == "" {
		t.Fatalf("keys create: %v %+v", err, key)
	}
	if out := must("dev-admin-token", "keys", "list", "acme"); !strings.Contains(out, key.AppKey) || strings.Contains(out, key.Secret) {
		t.Errorf("keys list:\n%s", out)
	}
	// Tenant: a config, a callback, its delivery.
	must(key.Secret, "configs", "add", rc.url, "--callback-token", "cli-token")
	if out := must(key.Secret, "configs", "list"); !strings.Contains(out, rc.url) || strings.Contains(out, "cli-token") {
		t.Errorf("configs list:\n%s", out)
	}
	out := must(key.Secret, "send", "--content", `{"hello":"cli"}`, "-o", "json")
	var sent struct {
		DeliveryIDs []string `json:"deliveryIds"`
	}
	if err := json.Unmarshal([]byte(out), &sent); err != nil || len(sent.DeliveryIDs) != 1 {
		t.Fatalf("send: %v\n%s", err, out)
	}
	rc.waitFor(t, 20*time.Second, "the callback", func(r []received) bool { return len(r) == 1 })
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = must(key.Secret, "deliveries", "get", sent.DeliveryIDs[0])
		if strings.Contains(out, "succeeded") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out, "succeeded") || !strings.Contains(out, "attempt 1") {
		t.Errorf("deliveries get:\n%s", out)
	}
	if out := must(key.Secret, "deliveries", "list", "--status", "succeeded"); !strings.Contains(out, sent.DeliveryIDs[0]) {
		t.Errorf("deliveries list:\n%s", out)
	}
	if out := must(key.Secret, "channels", "list"); !strings.Contains(out, "http") {
		t.Errorf("channels list:\n%s", out)
	}
	// Isolation: the demo tenant does not see acme's delivery.
	if out, err := run("demo-secret", "deliveries", "get", sent.DeliveryIDs[0]); err == nil || !strings.Contains(out, "ResourceNotFound") {
		t.Errorf("another tenant read the delivery: %v\n%s", err, out)
	}
	// A tenant's secret does not work on the admin commands.
	if out, err := run(key.Secret, "tenants", "list"); err == nil || !strings.Contains(out, "Unauthorized") {
		t.Errorf("tenant secret listed tenants: %v\n%s", err, out)
	}
	must(key.Secret, "configs", "delete", rc.url)
	if out, err := run(key.Secret, "configs", "delete", rc.url); err == nil || !strings.Contains(out, "FailedOperation") {
		t.Errorf("delete again: %v\n%s", err, out)
	}
}
