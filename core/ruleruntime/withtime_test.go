package ruleruntime_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/ruleruntime"
)

// TestWithTime: a tenant's own time limit sets the fuel budget of the call,
// in place of the rule's; the next call without it has the rule's budget.
func TestWithTime(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{FuelPerMS: 1000})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{Time: 5 * time.Second})
	res, err := rule.Route(ruleruntime.WithTime(context.Background(), 2*time.Millisecond), []byte("l"))
	checkErr(t, err, ruleruntime.ErrTimeout)
	if res.Fuel != 2_000 {
		t.Errorf("fuel %d with a 2 ms limit at 1000 units a ms, want 2000", res.Fuel)
	}
	res, err = rule.Route(context.Background(), []byte("l"))
	checkErr(t, err, ruleruntime.ErrTimeout)
	if res.Fuel != 5_000_000 {
		t.Errorf("fuel %d with the rule's 5 s limit, want 5000000", res.Fuel)
	}
}

// TestWithMaxOutput: a tenant's output limit lowers the rule's for the call
// that carries it, never raises it, and the instance keeps serving.
func TestWithMaxOutput(t *testing.T) {
	rt := newRuntime(t, ruleruntime.Tuning{})
	rule := compile(t, rt, "behave", wat(t, "behave"), ruleruntime.Limits{MaxOutput: 64})
	tests := []struct {
		name  string
		limit int
		input string
		err   error
	}{
		{name: "under_the_tenant_limit", limit: 32, input: "echo echo echo echo", err: nil},
		{name: "over_the_tenant_limit", limit: 8, input: "echo echo echo echo", err: ruleruntime.ErrOutputTooLarge},
		{name: "tenant_limit_cannot_raise_the_rule_limit", limit: 1 << 20,
			input: "e" + strings.Repeat("x", 100), err: ruleruntime.ErrOutputTooLarge},
		{name: "zero_keeps_the_rule_limit", limit: 0, input: "echo", err: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := rule.Route(ruleruntime.WithMaxOutput(context.Background(), tt.limit), []byte(tt.input))
			checkErr(t, err, tt.err)
			if tt.err == nil && string(res.Output) != tt.input {
				t.Errorf("output %q, want the input echoed", res.Output)
			}
		})
	}
}
