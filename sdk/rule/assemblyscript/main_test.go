package assemblyscript_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/ruleruntime"
	"github.com/callgate/callgate/rules"
)

// What every test and benchmark of the package shares: the modules npm
// builds, built once, and one runtime with them compiled.
var shared struct {
	once  sync.Once
	err   error
	wasm  map[string][]byte // by name, as npm built them
	rt    *ruleruntime.Runtime
	rules map[string]*ruleruntime.Rule // "http", "probe" and "go_http", the built-in Go rule

	goOnce sync.Once
	goErr  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.rt != nil {
		_ = shared.rt.Close(context.Background())
	}
	os.Exit(code)
}

// module returns the compiled module by name: "http" (examples/http.ts),
// "probe" (testdata/probe.ts) or "go_http" (the built-in http rule, written
// in Go).
func module(tb testing.TB, name string) *ruleruntime.Rule {
	tb.Helper()
	shared.once.Do(func() { shared.err = setUp() })
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	if name == "go_http" {
		shared.goOnce.Do(func() {
			r, err := shared.rt.Compile(context.Background(), "go_http", rules.Builtin()["http"], ruleruntime.Limits{})
			shared.rules["go_http"], shared.goErr = r, err
		})
		if shared.goErr != nil {
			tb.Fatal(shared.goErr)
		}
	}
	r, ok := shared.rules[name]
	if !ok {
		tb.Fatalf("no module %q", name)
	}
	return r
}

func setUp() error {
	ctx := context.Background()
	wasm, err := npmBuild(ctx)
	if err != nil {
		return err
	}
	rt, err := ruleruntime.New(ctx, ruleruntime.Options{})
	if err != nil {
		return err
	}
	shared.rt = rt
	shared.wasm = wasm
	shared.rules = map[string]*ruleruntime.Rule{}
	for _, name := range []string{"http", "probe"} {
		// The default limits, metering on: as the gateway runs a tenant's rule.
		r, err := rt.Compile(ctx, name, wasm[name], ruleruntime.Limits{})
		if err != nil {
			return err
		}
		shared.rules[name] = r
	}
	return nil
}

// npmBuild installs the SDK's npm dependencies when node_modules is missing
// or older than the lock file, builds build/http.wasm and build/probe.wasm,
// and returns them by name.
func npmBuild(ctx context.Context) (map[string][]byte, error) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return nil, fmt.Errorf("npm is not installed: these tests build the AssemblyScript SDK's modules with Node.js 20 or later and npm (apt-get install nodejs npm): %w", err)
	}
	unlock, err := lockBuild(".build.lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if stale, err := installStale(); err != nil {
		return nil, err
	} else if stale {
		if err := run(ctx, npm, "ci", "--no-audit", "--no-fund", "--prefer-offline"); err != nil {
			return nil, err
		}
	}
	if err := run(ctx, npm, "run", "build"); err != nil {
		return nil, err
	}
	wasm := map[string][]byte{}
	for _, name := range []string{"http", "probe"} {
		b, err := os.ReadFile(filepath.Join("build", name+".wasm"))
		if err != nil {
			return nil, fmt.Errorf("read the module npm built: %w", err)
		}
		wasm[name] = b
	}
	return wasm, nil
}

// installStale reports whether node_modules needs npm ci: npm writes
// node_modules/.package-lock.json when it installs, so it is missing or
// older than package-lock.json when the install is.
func installStale() (bool, error) {
	installed, err := os.Stat(filepath.Join("node_modules", ".package-lock.json"))
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, f := range []string{"package.json", "package-lock.json"} {
		fi, err := os.Stat(f)
		if err != nil {
			return false, err
		}
		if fi.ModTime().After(installed.ModTime()) {
			return true, nil
		}
	}
	return false, nil
}

func run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %v: %w\n%s", filepath.Base(name), args, err, out.Bytes())
	}
	return nil
}

// Input is the route input, as the gateway encodes it (core/ruleset).
type Input struct {
	ABI        int        `json:"abi"`
	TenantID   string     `json:"tenantId"`
	MessageID  string     `json:"messageId"`
	Rule       string     `json:"rule"`
	Content    string     `json:"content"`
	Properties Properties `json:"properties"`
	Configs    []Config   `json:"configs"`
}

type Properties struct {
	AppKey string            `json:"appKey"`
	Rule   string            `json:"rule"`
	Ext    map[string]string `json:"ext"`
}

type Config struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	HasKey   bool   `json:"hasKey"`
	HasToken bool   `json:"hasToken"`
}

// configs are the callback configs of the tests' tenant.
var configs = []Config{
	{ID: "cfg_01", URL: "https://a.example.com/cb", HasKey: true, HasToken: true},
	{ID: "cfg_02", URL: "https://b.example.com/cb?x=1&y=<2>"},
}

// newInput returns an input for content, to the given configs, with ext.
func newInput(content string, cs []Config, ext map[string]string) Input {
	if ext == nil {
		ext = map[string]string{}
	}
	return Input{ABI: 1, TenantID: "demo", MessageID: "msg_01JABCDEF0123456789", Rule: "http", Content: content,
		Properties: Properties{AppKey: "demo", Rule: "http", Ext: ext}, Configs: cs}
}

// gatewayJSON encodes v as the gateway does, with json.Marshal: '<', '>'
// and '&' escaped.
func gatewayJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// plainJSON encodes v with HTML escaping off, which escapes strings exactly
// as the Go SDK's rule.AppendQuote does.
func plainJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		tb.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// route calls the rule's callgate_v1_route with input and fails the test on
// an error.
func route(tb testing.TB, r *ruleruntime.Rule, input []byte) ruleruntime.Result {
	tb.Helper()
	res, err := r.Route(context.Background(), input)
	if err != nil {
		tb.Fatalf("route %s: %v", input, err)
	}
	if !json.Valid(res.Output) {
		tb.Fatalf("route %s: the output is not JSON: %q", input, res.Output)
	}
	return res
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(tb testing.TB, a, b []byte) bool {
	tb.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		tb.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		tb.Fatalf("%v: %s", err, b)
	}
	// Maps encode with sorted keys, so equal values encode equally.
	return bytes.Equal(plainJSON(tb, va), plainJSON(tb, vb))
}
