package gateway_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
	"github.com/callgate/callgate/proto/callgate/v1/callgatev1connect"
)

// TestRuleLimits: a tenant's rule that loops, eats memory, traps or answers
// too much fails only the callback that made it misbehave, with
// FailedOperation.RuleError saying which; the gateway and the rule keep
// serving the next callback. The rule (testdata/misbehave.wat) behaves on
// PutRule's sample run and misbehaves on a marker in the content.
func TestRuleLimits(t *testing.T) {
	cfg := testConfig(t.TempDir())
	if raceDetector {
		// Growing memory to the 16 MiB limit takes a few milliseconds, and
		// under the race detector up to hundreds: the memory bomb would run
		// out of time first. The other limits stay the shipped defaults.
		cfg.RuleTimeLimit = 2 * time.Second
	}
	r := start(t, cfg)
	hk := newHook(t, nil)
	addConfig(t, r, devSecret, hk.URL, "", "")
	rules := callgatev1connect.NewRuleServiceClient(http.DefaultClient, r.base, bearer(devSecret))
	ctx := timeout(t, 50*time.Second)
	if _, err := rules.PutRule(ctx, connect.NewRequest(&callgatev1.PutRuleRequest{
		Code: "misbehave", Wasm: watModule(t, "misbehave"),
	})); err != nil {
		t.Fatalf("put: %v", err)
	}
	accepted(t, r, devSecret, "demo", "misbehave", "warm up", nil)
	if h := arrived(t, hk, "warm up"); h.Header.Get("X-Rule") != "misbehave" {
		t.Fatalf("the rule did not route: %v", h.Header)
	}

	for _, tc := range []struct {
		name, marker, says string
	}{
		{"endless_loop", "CG_LOOP", "ran out of time"},
		{"memory_bomb", "CG_BOMB", "ran out of memory"},
		{"trap", "CG_TRAP", "trapped"},
		{"huge_output", "CG_HUGE", "more than the output limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, env := submit(t, r, devSecret, "demo", "misbehave", "please "+tc.marker, nil)
			if status != http.StatusBadRequest || env.Code != "FailedOperation.RuleError" ||
				!strings.Contains(env.Message, tc.says) || !strings.Contains(env.Message, `"misbehave"`) {
				t.Errorf("got %d %+v, want 400 FailedOperation.RuleError saying %q", status, env, tc.says)
			}
			t.Logf("answer: %q", env.Message)
			if env.RequestID == "" || len(env.Result.DeliveryIDs) != 0 {
				t.Errorf("answer = %+v", env)
			}

			// TestRule reports the same failure, without failing the call.
			resp, err := rules.TestRule(ctx, connect.NewRequest(&callgatev1.TestRuleRequest{Code: "misbehave",
				Callback: &callgatev1.TestCallback{Content: tc.marker}}))
			if err != nil {
				t.Fatalf("TestRule: %v", err)
			}
			if e := resp.Msg.GetError(); !strings.HasPrefix(e, "FailedOperation.RuleError: ") || !strings.Contains(e, tc.says) {
				t.Errorf("TestRule error = %q, want FailedOperation.RuleError saying %q", e, tc.says)
			}
			if resp.Msg.GetDecision() != nil {
				t.Errorf("TestRule decision = %v, want none", resp.Msg.GetDecision())
			}

			// The next callback, through the same rule, is served.
			content := "after " + tc.name
			accepted(t, r, devSecret, "demo", "misbehave", content, nil)
			arrived(t, hk, content)
		})
	}

	t.Run("concurrent", func(t *testing.T) {
		const n = 16
		type answer struct {
			status int
			env    seedAnswer
		}
		answers := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				content := fmt.Sprintf("concurrent %d", i)
				if i%4 == 3 {
					content += " CG_TRAP" // a quarter of them trap, beside the others
				}
				answers[i].status, answers[i].env = submit(t, r, devSecret, "demo", "misbehave", content, nil)
			})
		}
		wg.Wait()
		for i, a := range answers {
			switch {
			case i%4 == 3:
				if a.status != http.StatusBadRequest || a.env.Code != "FailedOperation.RuleError" {
					t.Errorf("submit %d (trap): %d %+v", i, a.status, a.env)
				}
			case a.status != http.StatusOK || len(a.env.Result.DeliveryIDs) != 1:
				t.Errorf("submit %d: %d %+v", i, a.status, a.env)
			}
		}
		hk.wait(t, 20*time.Second, "every accepted callback", func(hs []hit) bool {
			seen := map[string]bool{}
			for _, h := range hs {
				seen[string(h.Body)] = true
			}
			for i := range n {
				if i%4 != 3 && !seen[fmt.Sprintf("concurrent %d", i)] {
					return false
				}
			}
			return true
		})
		for _, h := range hk.got() {
			if strings.Contains(string(h.Body), "CG_") {
				t.Errorf("a refused callback was delivered: %q", h.Body)
			}
		}
	})

	resp, err := http.Get(r.base + "/readyz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after the misbehaviour: %v %v", resp, err)
	}
	resp.Body.Close()
}
