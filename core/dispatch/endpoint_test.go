package dispatch_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// TestCircuitBreaker: a failing endpoint's circuit opens after the
// threshold, the deliveries behind it wait without spending attempts,
// another endpoint is not held up, and a successful probe lets the rest
// through.
func TestCircuitBreaker(t *testing.T) {
	e := newEnv(t)
	other, err := e.store.AddCallbackConfig(t.Context(), store.CallbackConfig{TenantID: e.tenant, URL: "https://other.example/hook"})
	if err != nil {
		t.Fatal(err)
	}
	var healthy atomic.Bool
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		if c.delivery.GetDestination() == e.config.URL && !healthy.Load() {
			return retryable(503, "down"), nil
		}
		return delivered(), nil
	}}
	var ds []store.Delivery
	for range 8 {
		ds = append(ds, e.webhook())
	}
	ds = append(ds, store.Delivery{Channel: "http", ConfigID: other.ID, Destination: other.URL, Body: []byte("x")})
	ds = e.insert(t, ds...)
	r := e.start(t, s, dispatch.Options{
		Schedule: []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}, NoJitter: true,
		BreakerThreshold: 3, BreakerCooldown: 300 * time.Millisecond,
		Workers: 1, // sends admitted before the circuit opened would all go out
	})
	r.Notify(ds)
	e.waitStatus(t, ds[8].ID, store.StatusSucceeded) // the other endpoint is not held up

	// Only the threshold's worth of sends reached the failing endpoint
	// before the circuit opened; the rest wait with no attempt spent.
	deadline := time.Now().Add(waitTimeout)
	for r.Dispatcher.OpenCircuits() != 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if r.Dispatcher.OpenCircuits() != 1 {
		t.Fatal("the circuit did not open")
	}
	sends := 0
	for _, c := range s.sent() {
		if c.delivery.GetDestination() == e.config.URL {
			sends++
		}
	}
	if sends > 3+1 { // the threshold, plus one in flight as it opened
		t.Errorf("%d sends reached the failing endpoint with the circuit open", sends)
	}
	healthy.Store(true)
	for _, d := range ds[:8] {
		got := e.waitStatus(t, d.ID, store.StatusSucceeded)
		if got.Attempts > 2 {
			t.Errorf("%s took %d attempts: waiting on an open circuit spent attempts", d.ID, got.Attempts)
		}
	}
}

// TestGoneDisablesEndpoint: a 410 ends the delivery and disables its
// config; later deliveries to it die at once without a send, until the
// config is enabled again.
func TestGoneDisablesEndpoint(t *testing.T) {
	e := newEnv(t)
	var gone atomic.Bool
	gone.Store(true)
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		if gone.Load() {
			return &pluginv1.Outcome{Kind: pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, StatusCode: 410, DisableEndpoint: true}, nil
		}
		return delivered(), nil
	}}
	r := e.start(t, s, dispatch.Options{})
	first := e.insert(t, e.webhook())
	r.Notify(first)
	e.waitStatus(t, first[0].ID, store.StatusDead)
	cfg, err := e.store.GetCallbackConfig(t.Context(), e.tenant, e.config.ID)
	if err != nil || !cfg.Disabled || cfg.DisabledReason == "" {
		t.Fatalf("config after 410: %+v %v", cfg, err)
	}
	second := e.insert(t, e.webhook())
	r.Notify(second)
	d := e.waitStatus(t, second[0].ID, store.StatusDead)
	if s.sentTo(second[0].ID) != 0 {
		t.Error("a delivery to a disabled endpoint was sent")
	}
	if d.LastError == "" {
		t.Error("no reason given")
	}
	gone.Store(false)
	if _, err := e.store.EnableCallbackConfig(t.Context(), e.tenant, e.config.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.RetryDelivery(t.Context(), e.tenant, second[0].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	r.Notify(second)
	e.waitStatus(t, second[0].ID, store.StatusSucceeded)
}

// TestEndpointConcurrencyCap: no more sends than the cap run at once
// against one endpoint, and every delivery still goes out, claimed once:
// waiting in line for a slot costs no store write.
func TestEndpointConcurrencyCap(t *testing.T) {
	e := newEnv(t)
	cc := &claimCounter{Store: e.store}
	var running, most atomic.Int64
	s := &sender{answer: func(call) (*pluginv1.Outcome, error) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return delivered(), nil
	}}
	var ds []store.Delivery
	for range 20 {
		ds = append(ds, e.webhook())
	}
	ds = e.insert(t, ds...)
	r := startOn(t, cc, s, dispatch.Options{Workers: 16, EndpointConcurrency: 3})
	r.Notify(ds)
	for _, d := range ds {
		got := e.waitStatus(t, d.ID, store.StatusSucceeded)
		if got.Attempts != 1 {
			t.Errorf("%s: %d attempts, waiting for a slot must not count", d.ID, got.Attempts)
		}
	}
	if m := most.Load(); m > 3 {
		t.Errorf("%d sends ran at once against one endpoint, cap 3", m)
	}
	if n := cc.count(); n != len(ds) {
		t.Errorf("%d claims for %d deliveries: waiting in line must not claim", n, len(ds))
	}
}
