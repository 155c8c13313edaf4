package main_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRulesCLI builds a Go rule with `callgate rules build`, uploads it,
// lists and tries rules with the other `callgate rules` subcommands against
// a real gateway, and checks that a callback then runs the uploaded rule.
func TestRulesCLI(t *testing.T) {
	g := startGateway(t, t.TempDir())
	rc := newReceiver(t, nil)
	g.addConfig(rc.url, "", "")
	run := func(args ...string) (stdout, stderr string, err error) {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = append(os.Environ(), "CALLGATE_TOKEN=demo-secret", "CALLGATE_URL=")
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err = cmd.Run()
		return o.String(), e.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, err := run(args...)
		if err != nil {
			t.Fatalf("callgate %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}

	// build: the built-in http rule's folder, as a vendor builds theirs.
	wasm := filepath.Join(t.TempDir(), "mine.wasm")
	out := must("rules", "build", filepath.Join("..", "..", "rules", "http"), "-o", wasm)
	built, err := os.ReadFile(wasm)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(built)
	if !strings.Contains(out, wasm) || !strings.Contains(out, hex.EncodeToString(sum[:])) {
		t.Errorf("build printed %q, want the file and its sha256", out)
	}
	// With the toolchain that built the committed modules, the build is the
	// same bytes: the CLI builds as go generate ./rules does.
	goVersion, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "rules", "wasm", "GOVERSION"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(goVersion)) == strings.TrimSpace(string(committed)) {
		want, err := os.ReadFile(filepath.Join("..", "..", "rules", "wasm", "http.wasm"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(built, want) {
			t.Errorf("rules build of rules/http made %d bytes that differ from rules/wasm/http.wasm (%d bytes)", len(built), len(want))
		}
	} else {
		t.Logf("toolchain %s, modules built with %s: not comparing bytes", goVersion, committed)
	}

	// push, as a table, then an inactive second version as JSON.
	out = must("rules", "push", "--addr", g.base, "--code", "mine", wasm)
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "CODE") || !strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "mine 1 false true false") { // the http rule has no classifier
		t.Errorf("push printed:\n%s", out)
	}
	var pushed struct {
		Rule struct {
			Code    string `json:"code"`
			Version int    `json:"version"`
			Active  bool   `json:"active"`
			Sha256  string `json:"sha256"`
		} `json:"rule"`
	}
	out = must("rules", "push", "--addr", g.base, "--code", "mine", "--inactive", "-o", "json", wasm)
	if err := json.Unmarshal([]byte(out), &pushed); err != nil || pushed.Rule.Code != "mine" || pushed.Rule.Version != 2 ||
		pushed.Rule.Active || pushed.Rule.Sha256 != hex.EncodeToString(sum[:]) {
		t.Errorf("push -o json: %v\n%s", err, out)
	}

	// list
	out = must("rules", "list", "--addr", g.base)
	for _, code := range []string{"mine", "http", "email", "sms", "ebaas", "tim"} {
		if !strings.Contains(out, "\n"+code+" ") {
			t.Errorf("list lacks %s:\n%s", code, out)
		}
	}
	var list struct {
		Rules []struct {
			Code    string `json:"code"`
			Version int    `json:"version"`
			Builtin bool   `json:"builtin"`
			Active  bool   `json:"active"`
		} `json:"rules"`
	}
	out = must("rules", "list", "--addr", g.base, "-o", "json")
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Rules) != 6 {
		t.Fatalf("list -o json: %v\n%s", err, out)
	}
	if r := list.Rules[0]; r.Code != "mine" || r.Version != 1 || r.Builtin || !r.Active {
		t.Errorf("first rule listed = %+v, want mine version 1, active", r)
	}

	// test: a dry run, as JSON and as text.
	var tested struct {
		Decision struct {
			Deliveries []struct {
				Destination string `json:"destination"`
				Body        string `json:"body"`
			} `json:"deliveries"`
		} `json:"decision"`
		Version    int    `json:"version"`
		DurationUs string `json:"durationUs"`
		Error      string `json:"error"`
	}
	out = must("rules", "test", "--addr", g.base, "--code", "mine", "--content", `{"dry":"run"}`, "--ext", "k=v", "-o", "json")
	if err := json.Unmarshal([]byte(out), &tested); err != nil || tested.Version != 1 || tested.Error != "" ||
		len(tested.Decision.Deliveries) != 1 || tested.Decision.Deliveries[0].Destination != rc.url ||
		tested.Decision.Deliveries[0].Body != `{"dry":"run"}` {
		t.Errorf("test -o json: %v\n%s", err, out)
	}
	out = must("rules", "test", "--addr", g.base, "--code", "email", "--content", "hi")
	if !strings.HasPrefix(out, "rule email (built-in) took ") || !strings.Contains(out, "InvalidParameter.ParamError") ||
		!strings.Contains(out, "decision:") {
		t.Errorf("test of a rejection:\n%s", out)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(rc.requests()); n != 0 {
		t.Errorf("a dry run delivered %d requests", n)
	}

	// The uploaded rule is the one callbacks run.
	var env envelope
	if s := g.call("/demo/message/v1/callbacks", "demo-secret",
		map[string]any{"content": "through mine", "properties": map[string]any{"rule": "mine"}}, &env); s != 200 {
		t.Fatalf("submit with rule mine: %d %+v", s, env)
	}
	rc.waitFor(t, 20*time.Second, "the callback routed by mine", func(r []received) bool {
		return len(r) == 1 && string(r[0].body) == "through mine"
	})

	// Failures exit non-zero and say why.
	garbage := filepath.Join(t.TempDir(), "garbage.wasm")
	if err := os.WriteFile(garbage, []byte("not a module"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"push_garbage", []string{"rules", "push", "--addr", g.base, "--code", "bad", garbage}, "InvalidParameterValue"},
		{"push_without_code", []string{"rules", "push", "--addr", g.base, wasm}, "--code"},
		{"wrong_token", []string{"rules", "list", "--addr", g.base, "--token", "wrong"}, "unauthenticated"},
		{"unknown_rule", []string{"rules", "test", "--addr", g.base, "--code", "nope", "--content", "x"}, "ResourceNotFound.Rule"},
		{"bad_ext", []string{"rules", "test", "--addr", g.base, "--code", "mine", "--ext", "novalue"}, "KEY=VALUE"},
		{"bad_output", []string{"rules", "list", "--addr", g.base, "-o", "yaml"}, "table or json"},
		{"build_not_a_folder", []string{"rules", "build", garbage}, "not a folder"},
		{"build_no_go_files", []string{"rules", "build", t.TempDir(), "-o", filepath.Join(t.TempDir(), "x.wasm")}, "go build"},
		{"unknown_subcommand", []string{"rules", "frobnicate"}, "unknown subcommand"},
		{"gateway_down", []string{"rules", "list", "--addr", "http://127.0.0.1:1"}, "rules list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := run(tc.args...)
			if _, ok := err.(*exec.ExitError); !ok || !strings.Contains(errOut, tc.says) {
				t.Errorf("got %v, stdout %q, stderr %q; want a failure saying %q", err, out, errOut, tc.says)
			}
		})
	}
}
