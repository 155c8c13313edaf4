package ruleruntime_test

import (
	"context"
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
