package dispatch_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// metricValue reads one series from m's exposition, 0 when absent.
func metricValue(t *testing.T, m *metrics.Metrics, series string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for line := range strings.SplitSeq(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// TestHeldBackWithoutStoreWrites: deliveries to an endpoint whose circuit
// is open wait in memory (one send at a time, so exactly the threshold's
// failures get out before the circuit opens); none is claimed or written until the circuit
// lets one through, so a receiver that is down does not turn every held
// delivery into store writes.
func TestHeldBackWithoutStoreWrites(t *testing.T) {
	e := newEnv(t)
	cc := &claimCounter{Store: e.store}
	s := &sender{answer: func(call) (*pluginv1.Outcome, error) { return retryable(503, "down"), nil }}
	m := metrics.New()
	var ds []store.Delivery
	for range 20 {
		ds = append(ds, e.webhook())
	}
	ds = e.insert(t, ds...)
	d := dispatch.New(cc, s, discard, dispatch.Options{NoJitter: true, Workers: 4, Metrics: m, EndpointConcurrency: 1,
		BreakerThreshold: 2, BreakerCooldown: time.Minute, Schedule: []time.Duration{time.Hour}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	held := fmt.Sprintf(`callgate_endpoint_deferred_total{config_id=%q,reason="breaker"}`, e.config.ID)
	waitFor(t, "the other deliveries held back by the open circuit", func() bool {
		return metricValue(t, m, held) >= 18
	})
	if n := len(s.sent()); n != 2 {
		t.Errorf("sent %d, want 2 (the failures that opened the circuit)", n)
	}
	if n := cc.count(); n != 2 {
		t.Errorf("%d claims, want 2: a held delivery must not be claimed", n)
	}
	pending := 0
	for _, dl := range ds {
		if got := e.get(t, dl.ID); got.Status == store.StatusPending && got.Attempts == 0 {
			pending++
		}
	}
	if pending != 18 {
		t.Errorf("%d deliveries untouched in the store, want 18", pending)
	}
}

// TestBusyEndpointLine: with a concurrency cap of one, deliveries to the
// same endpoint wait in line in memory and each goes out once, claimed
// once, never two at a time.
func TestBusyEndpointLine(t *testing.T) {
	e := newEnv(t)
	cc := &claimCounter{Store: e.store}
	var running, most atomic.Int32
	s := &sender{answer: func(call) (*pluginv1.Outcome, error) {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		running.Add(-1)
		return delivered(), nil
	}}
	var ds []store.Delivery
	for range 30 {
		ds = append(ds, e.webhook())
	}
	ds = e.insert(t, ds...)
	d := dispatch.New(cc, s, discard, dispatch.Options{NoJitter: true, Workers: 8, EndpointConcurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for _, dl := range ds {
		e.waitStatus(t, dl.ID, store.StatusSucceeded)
	}
	if n := len(s.sent()); n != len(ds) {
		t.Errorf("sent %d, want %d", n, len(ds))
	}
	if n := cc.count(); n != len(ds) {
		t.Errorf("%d claims, want %d: waiting in line must not claim", n, len(ds))
	}
	if m := most.Load(); m != 1 {
		t.Errorf("%d sends at once to an endpoint capped at 1", m)
	}
}
