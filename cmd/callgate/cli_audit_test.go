package main_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestCLIAuditAndAgents drives `tenants create --parent`, `keys create
// --agent` and `audit` against a real gateway.
func TestCLIAuditAndAgents(t *testing.T) {
	g := startGateway(t, t.TempDir())
	run := func(token string, args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append(cmd.Environ(), "CALLGATE_URL="+g.base, "CALLGATE_TOKEN="+token)
		out, err := cmd.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			out = append(out, ee.Stderr...)
		}
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
	const admin = "dev-admin-token"
	must(admin, "tenants", "create", "group", "--name", "Group")
	must(admin, "tenants", "create", "shop", "--parent", "group")
	if out := must(admin, "tenants", "list"); !strings.Contains(out, "PARENT") || !strings.Contains(out, "shop") {
		t.Errorf("tenants list:\n%s", out)
	}
	if out, err := run(admin, "tenants", "create", "deeper", "--parent", "shop"); err == nil || !strings.Contains(out, "InvalidParameterValue") {
		t.Errorf("a sub-tenant of a sub-tenant: %v\n%s", err, out)
	}
	var agent, shop struct {
		AppKey string `json:"appKey"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(must(admin, "keys", "create", "group", "--agent", "-o", "json")), &agent); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(must(admin, "keys", "create", "shop", "-o", "json")), &shop); err != nil {
		t.Fatal(err)
	}
	var keys struct {
		AppKeys []struct {
			AppKey string `json:"appKey"`
			Agent  bool   `json:"agent"`
		} `json:"appKeys"`
	}
	if err := json.Unmarshal([]byte(must(admin, "keys", "list", "group", "-o", "json")), &keys); err != nil ||
		len(keys.AppKeys) != 1 || !keys.AppKeys[0].Agent {
		t.Errorf("keys list: %v %+v", err, keys)
	}
	must(shop.Secret, "configs", "add", "http://127.0.0.1:9/shop")

	// The operator reads one tenant's log, as a table and as JSON.
	out := must(admin, "audit", "--tenant", "shop")
	for _, s := range []string{"ACTOR", "tenant.create", "appkey.create", "config.add", shop.AppKey, "admin"} {
		if !strings.Contains(out, s) {
			t.Errorf("audit --tenant shop lacks %q:\n%s", s, out)
		}
	}
	var log struct {
		Events []struct {
			TenantID string `json:"tenantId"`
			Actor    string `json:"actor"`
			Action   string `json:"action"`
		} `json:"events"`
		NextPageToken string `json:"nextPageToken"`
	}
	if err := json.Unmarshal([]byte(must(admin, "audit", "--tenant", "shop", "-o", "json")), &log); err != nil || len(log.Events) != 3 {
		t.Errorf("audit --tenant shop -o json: %v %+v", err, log)
	}
	for _, ev := range log.Events {
		if ev.TenantID != "shop" {
			t.Errorf("audit --tenant shop shows %+v", ev)
		}
	}
	log.Events = nil
	if err := json.Unmarshal([]byte(must(admin, "audit", "--limit", "2", "-o", "json")), &log); err != nil ||
		len(log.Events) != 2 || log.NextPageToken == "" || log.Events[0].Action != "config.add" {
		t.Errorf("audit --limit 2 -o json: %v %+v", err, log)
	}
	// A tenant's secret reads its own log, and only its own.
	if out := must(shop.Secret, "audit"); !strings.Contains(out, "config.add") || strings.Contains(out, agent.AppKey) {
		t.Errorf("the shop's own audit:\n%s", out)
	}
	if out, err := run(shop.Secret, "audit", "--tenant", "group"); err == nil || !strings.Contains(out, "UnauthorizedOperation.Forbidden") {
		t.Errorf("the shop reads the group's audit: %v\n%s", err, out)
	}
	if out, err := run("not-a-token", "audit"); err == nil || !strings.Contains(out, "UnauthorizedOperation") {
		t.Errorf("audit with a bad token: %v\n%s", err, out)
	}
}
