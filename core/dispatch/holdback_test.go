package dispatch_test

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strconv"
	"strings"
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
	startOn(t, cc, s, dispatch.Options{NoJitter: true, Workers: 4, Metrics: m, EndpointConcurrency: 1,
		BreakerThreshold: 2, BreakerCooldown: time.Minute, Schedule: []time.Duration{time.Hour}})

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
	// The two sent are recorded as failed once their attempts are written
	// (taken with a read, they stay pending in the store until then).
	var pending int
	waitFor(t, "the two attempts recorded", func() bool {
		pending = 0
		failed := 0
		for _, dl := range ds {
			switch got := e.get(t, dl.ID); {
			case got.Status == store.StatusPending && got.Attempts == 0:
				pending++
			case got.Status == store.StatusFailed && got.Attempts == 1:
				failed++
			}
		}
		return failed == 2
	})
	if pending != 18 {
		t.Errorf("%d deliveries untouched in the store, want 18", pending)
	}
}
