package main_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestPolicyCLI sets retry schedules and rates from the command line: on a
// new config, on an existing one (changing only what is given), and as a
// tenant's default; the gateway's refusal of a bad schedule reaches the
// operator with its code.
func TestPolicyCLI(t *testing.T) {
	g := startGateway(t, t.TempDir())
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
	type policy struct {
		Retry *struct {
			ScheduleMs []int `json:"scheduleMs"`
		} `json:"retry"`
		Rate *struct {
			PerSecond float64 `json:"perSecond"`
			Burst     int     `json:"burst"`
		} `json:"rate"`
	}
	configs := func() map[string]policy {
		t.Helper()
		var list struct {
			Configs []struct {
				ID  string `json:"id"`
				URL string `json:"callbackUrl"`
				policy
			} `json:"configs"`
		}
		if err := json.Unmarshal([]byte(must("demo-secret", "configs", "list", "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		out := map[string]policy{}
		for _, c := range list.Configs {
			out[c.URL] = c.policy
			out[c.ID] = c.policy
		}
		return out
	}

	const url = "http://127.0.0.1:9/policy"
	var added struct {
		ConfigID string `json:"configId"`
	}
	if err := json.Unmarshal([]byte(must("demo-secret", "configs", "add", url, "--retry", "1s,5s,30s", "--rate", "10", "-o", "json")), &added); err != nil || added.ConfigID == "" {
		t.Fatalf("configs add: %v %+v", err, added)
	}
	p := configs()[url]
	if p.Retry == nil || len(p.Retry.ScheduleMs) != 3 || p.Retry.ScheduleMs[2] != 30000 || p.Rate == nil || p.Rate.PerSecond != 10 {
		t.Errorf("added policy = %+v, want 1s,5s,30s at 10/s", p)
	}

	// Only the burst changes; then no retries and no rate.
	if out := must("demo-secret", "configs", "policy", added.ConfigID, "--burst", "4"); !strings.Contains(out, "1s,5s,30s") || !strings.Contains(out, "10/s burst 4") {
		t.Errorf("configs policy --burst:\n%s", out)
	}
	must("demo-secret", "configs", "policy", added.ConfigID, "--retry", "none", "--rate", "0")
	if p := configs()[added.ConfigID]; p.Retry == nil || len(p.Retry.ScheduleMs) != 0 || p.Rate != nil {
		t.Errorf("after --retry none --rate 0: %+v, want no retries and no rate", p)
	}
	must("demo-secret", "configs", "policy", added.ConfigID, "--retry", "inherit")
	if p := configs()[added.ConfigID]; p.Retry != nil {
		t.Errorf("after --retry inherit: %+v, want no schedule of its own", p)
	}

	out, err := run("demo-secret", "configs", "policy", added.ConfigID, "--retry", "10ms")
	if err == nil || !strings.Contains(out, "InvalidParameterValue") {
		t.Errorf("a 10 ms retry: %v\n%s", err, out)
	}

	// A tenant's schedule; its other limits stay as they were.
	must("dev-admin-token", "tenants", "update", "demo", "--manage-rate", "50", "--rule-memory-mib", "8")
	out = must("dev-admin-token", "tenants", "update", "demo", "--retry", "2s,1m", "--rule-output-kib", "64", "-o", "json")
	var updated struct {
		Tenant struct {
			Limits struct {
				ManageRate    float64 `json:"manageRate"`
				RuleMemoryMib int     `json:"ruleMemoryMib"`
				RuleOutputKib int     `json:"ruleOutputKib"`
			} `json:"limits"`
			policy
		} `json:"tenant"`
	}
	if err := json.Unmarshal([]byte(out), &updated); err != nil {
		t.Fatal(err)
	}
	if r, l := updated.Tenant.Retry, updated.Tenant.Limits; r == nil || len(r.ScheduleMs) != 2 || r.ScheduleMs[1] != 60000 ||
		l.ManageRate != 50 || l.RuleMemoryMib != 8 || l.RuleOutputKib != 64 {
		t.Errorf("tenants update: %s", out)
	}
	if out, err := run("dev-admin-token", "tenants", "update", "demo", "--retry", "1s,soon"); err == nil || !strings.Contains(out, "--retry") {
		t.Errorf("a bad --retry: %v\n%s", err, out)
	}
	// The verbs that set no policy still work.
	if out := must("demo-secret", "configs", "list"); !strings.Contains(out, url) {
		t.Errorf("configs list:\n%s", out)
	}
	if out := must("dev-admin-token", "tenants", "list"); !strings.Contains(out, "demo") {
		t.Errorf("tenants list:\n%s", out)
	}
}
