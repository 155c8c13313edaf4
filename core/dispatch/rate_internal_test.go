package dispatch

import (
	"fmt"
	"testing"
	"time"
)

// TestRatesPromiseTokens walks one endpoint's bucket through a crowd of
// deliveries on a made-up clock: each one over the rate is told when its
// own token is free, in the order they came, and goes then without taking
// another.
func TestRatesPromiseTokens(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	fiveASecond := Rate{PerSecond: 5}
	steps := []struct {
		name string
		id   string
		rate Rate
		now  int // ms after t0
		ok   bool
		wait int // ms after t0 when not ok
	}{
		{"first_takes_the_burst", "a", fiveASecond, 0, true, 0},
		{"second_waits_one_interval", "b", fiveASecond, 0, false, 200},
		{"third_waits_two", "c", fiveASecond, 10, false, 400},
		{"early_return_keeps_its_time", "b", fiveASecond, 100, false, 200},
		{"due_return_goes", "b", fiveASecond, 200, true, 0},
		{"return_a_millisecond_early_goes", "c", fiveASecond, 399, true, 0},
		{"a_newcomer_queues_behind", "d", fiveASecond, 400, false, 600},
		{"no_second_pass_for_a_used_promise", "c", fiveASecond, 400, false, 800},
		{"a_changed_rate_starts_full", "e", Rate{PerSecond: 10, Burst: 2}, 400, true, 0},
		{"burst_of_two", "f", Rate{PerSecond: 10, Burst: 2}, 400, true, 0},
		{"then_waits", "g", Rate{PerSecond: 10, Burst: 2}, 400, false, 500},
		{"no_rate_no_wait", "h", Rate{}, 400, true, 0},
	}
	r := newRates()
	for _, s := range steps {
		ok, until := r.take("cfg_1", s.id, s.rate, at(s.now))
		// Promised times are exact but for float rounding.
		if off := until.Sub(at(s.wait)).Abs(); ok != s.ok || (!ok && off > time.Microsecond) {
			t.Fatalf("%s: take(%s) at +%d ms = %v, +%v; want %v, +%d ms",
				s.name, s.id, s.now, ok, until.Sub(t0), s.ok, s.wait)
		}
	}
	if ok, _ := r.take("", "x", fiveASecond, t0); !ok {
		t.Error("a delivery without an endpoint was held")
	}
}

// TestRatesKeepEndpointsApart: one endpoint over its rate holds up no
// other.
func TestRatesKeepEndpointsApart(t *testing.T) {
	t0 := time.Now()
	r := newRates()
	slow := Rate{PerSecond: 1}
	r.take("slow", "a", slow, t0)
	if ok, _ := r.take("slow", "b", slow, t0); ok {
		t.Fatal("the slow endpoint let a second delivery through at once")
	}
	for i := range 100 {
		if ok, _ := r.take("fast", fmt.Sprint("d", i), Rate{}, t0); !ok {
			t.Fatalf("delivery %d to an endpoint without a rate was held", i)
		}
	}
}

// TestRatesForgetStalePromises: a promise nobody came back for is
// dropped after a while, and a forgotten endpoint starts afresh.
func TestRatesForgetStalePromises(t *testing.T) {
	t0 := time.Now()
	r := newRates()
	lim := Rate{PerSecond: 1}
	r.take("cfg", "a", lim, t0)
	r.take("cfg", "gone", lim, t0) // promised +1 s, never comes back
	r.take("cfg", "x", lim, t0.Add(3*heldTokenTTL))
	if n := len(r.m["cfg"].held); n != 0 {
		t.Errorf("%d promises kept after %v", n, 3*heldTokenTTL)
	}
	r.forget("cfg")
	if ok, _ := r.take("cfg", "y", lim, t0.Add(3*heldTokenTTL)); !ok {
		t.Error("a forgotten endpoint did not start with a full bucket")
	}
}
