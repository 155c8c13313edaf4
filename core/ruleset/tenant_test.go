package ruleset_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/ruleset"
)

// TestTenantLimits: a tenant's own memory and output limits bound its rules,
// while another tenant running the same module keeps the set's limits.
func TestTenantLimits(t *testing.T) {
	small := map[string]ruleset.TenantLimits{
		"t1": {MemoryPages: 16, MaxOutput: 1 << 10}, // 1 MiB, 1 KiB
	}
	f := newFixtureOn(t, nil, ruleset.Options{Builtin: map[string][]byte{},
		Tenant: func(id string) ruleset.TenantLimits { return small[id] }})
	module := wat(t, "decide")
	f.put(t, "t1", "decide", module)
	f.put(t, "t2", "decide", module)

	// decide.wat's allocator needs room for twice its input: about 1.6 MiB
	// for a 800 KiB callback, more than t1's 1 MiB (and its output stays under
	// the set's 1 MiB).
	big := `{"reject":{"code":"FailedOperation.Big","message":"` + strings.Repeat("m", 800<<10) + `"}}`
	// A decision of 4 KiB: over t1's output limit of 1 KiB.
	long := `{"reject":{"code":"FailedOperation.Long","message":"` + strings.Repeat("m", 4<<10) + `"}}`
	tests := []struct {
		name, tenant, content, says string
	}{
		{"memory_over_the_tenant_limit", "t1", big, "ran out of memory"},
		{"memory_within_the_set_limit", "t2", big, ""},
		{"output_over_the_tenant_limit", "t1", long, "answered more than the output limit"},
		{"output_within_the_set_limit", "t2", long, ""},
		{"small_callback_within_every_limit", "t1", `{"reject":{"code":"FailedOperation.Fine"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := f.set.Route(t.Context(), route.Input{TenantID: tt.tenant, MessageID: "msg_1", Rule: "decide",
				Content: tt.content, Configs: configs})
			if tt.says == "" {
				if err != nil || d.Reject == nil {
					t.Fatalf("Route = %+v, %v; want the rule's rejection", d, err)
				}
				return
			}
			if codeOf(err) != ruleset.RuleError || !strings.Contains(err.Error(), tt.says) {
				t.Errorf("err = %v, want %s saying %q", err, ruleset.RuleError, tt.says)
			}
		})
	}
}

// TestCompiledModulesAreBounded: tenants uploading more modules than
// MaxCompiled do not grow the gateway without bound; the least recently
// used is closed and compiled again, from the cache, when it is used.
func TestCompiledModulesAreBounded(t *testing.T) {
	f := newFixtureOn(t, nil, ruleset.Options{Builtin: map[string][]byte{}})
	base := wat(t, "decide")
	route1 := func(ctx context.Context, code string) error {
		d, err := f.set.Route(ctx, route.Input{TenantID: "t1", MessageID: "msg_1", Rule: code,
			Content: `{"reject":{"code":"FailedOperation.Fine"}}`, Configs: configs})
		if err == nil && d.Reject == nil {
			err = fmt.Errorf("no rejection in %+v", d)
		}
		return err
	}
	n := ruleset.MaxCompiled + 8
	for i := range n {
		code := fmt.Sprintf("rule%d", i)
		f.put(t, "t1", code, distinct(base, i))
		if err := route1(t.Context(), code); err != nil {
			t.Fatalf("route through %s: %v", code, err)
		}
		if got, most := ruleset.CompiledCount(f.set), ruleset.MaxCompiled; got > most {
			t.Fatalf("after %d modules %d are compiled, want at most %d", i+1, got, most)
		}
	}
	// The first modules were evicted; they still run.
	for i := range 8 {
		if err := route1(t.Context(), fmt.Sprintf("rule%d", i)); err != nil {
			t.Errorf("evicted rule%d: %v", i, err)
		}
	}
	if got := ruleset.CompiledCount(f.set); got != ruleset.MaxCompiled {
		t.Errorf("%d compiled, want %d", got, ruleset.MaxCompiled)
	}
}

// distinct returns module with a custom section naming i appended: the
// same code under another SHA-256, as a tenant's next version would be.
func distinct(module []byte, i int) []byte {
	name := fmt.Sprintf("v%d", i)
	out := append([]byte{}, module...)
	out = append(out, 0x00, byte(1+len(name)), byte(len(name)))
	return append(out, name...)
}

// TestEagerBuiltins: only the built-in rules named eager are compiled
// before the set is ready; the others compile on first use, and listing
// whether they classify compiles nothing.
func TestEagerBuiltins(t *testing.T) {
	f := newFixtureOn(t, nil, ruleset.Options{Eager: []string{"http"}})
	waitReady(t, f.set)
	if got := ruleset.CompiledBuiltins(f.set); !slices.Equal(got, []string{"http"}) {
		t.Fatalf("compiled at start: %v, want [http]", got)
	}
	if !f.set.BuiltinClassifies(t.Context(), "ebaas") || f.set.BuiltinClassifies(t.Context(), "nosuchrule") {
		t.Error("ebaas must say it classifies, and a rule that does not exist not")
	}
	if got := ruleset.CompiledBuiltins(f.set); len(got) != 1 {
		t.Fatalf("asking whether rules classify compiled %v", got)
	}
	d, err := f.set.Route(t.Context(), route.Input{TenantID: "t1", MessageID: "msg_1", Rule: "sms",
		Content: "hello", Ext: map[string]string{"destination": "+8613800138000"}, Configs: configs})
	if err != nil || len(d.Deliveries) != 1 {
		t.Fatalf("route through sms on first use: %+v, %v", d, err)
	}
	if got := ruleset.CompiledBuiltins(f.set); !slices.Equal(got, []string{"http", "sms"}) {
		t.Errorf("compiled after a callback through sms: %v", got)
	}
}

func waitReady(t *testing.T, s *ruleset.Set) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !s.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the set did not get ready within a minute")
		}
	}
}
