package dispatch_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// policies is a dispatch.Policies over a map the test may change while
// the dispatcher runs; endpoints not in it have the zero Policy.
type policies struct {
	mu sync.Mutex
	m  map[string]dispatch.Policy // by config id; "" for deliveries without one
}

func (p *policies) Policy(_ context.Context, _, configID string) (dispatch.Policy, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[configID], nil
}

func (p *policies) set(configID string, pol dispatch.Policy) {
	p.mu.Lock()
	p.m[configID] = pol
	p.mu.Unlock()
}

var _ dispatch.Policies = (*policies)(nil)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

// TestPolicySchedule: a failing delivery is attempted once plus once per
// retry of the schedule that applies: its rule's, else its endpoint's,
// else the dispatcher's (10 ms, 20 ms here).
func TestPolicySchedule(t *testing.T) {
	tests := []struct {
		name     string
		rule     []time.Duration // the delivery's own schedule
		endpoint []time.Duration // the policy's
		want     int
	}{
		{"dispatcher_default", nil, nil, 3},
		{"endpoint_schedule", nil, ms(5, 5, 5, 5), 5},
		{"endpoint_no_retries", nil, []time.Duration{}, 1},
		{"rule_beats_endpoint", ms(5), ms(5, 5, 5, 5), 2},
		{"rule_no_retries_beats_endpoint", []time.Duration{}, ms(5, 5, 5), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			pol := &policies{m: map[string]dispatch.Policy{e.config.ID: {Schedule: tt.endpoint}}}
			s := &sender{answer: func(call) (*pluginv1.Outcome, error) { return retryable(500, "down"), nil }}
			dl := e.webhook()
			dl.Schedule = tt.rule
			ds := e.insert(t, dl)
			e.run(t, s, dispatch.Options{Policies: pol, BreakerThreshold: -1})
			got := e.waitStatus(t, ds[0].ID, store.StatusDead)
			if got.Attempts != tt.want || s.sentTo(ds[0].ID) != tt.want {
				t.Errorf("%d attempts, %d sends; want %d", got.Attempts, s.sentTo(ds[0].ID), tt.want)
			}
		})
	}
}

// TestPolicyResolvedWhenRetryScheduled: the schedule is looked up when a
// retry is scheduled, not when the delivery was made, so a policy changed
// while a delivery waits applies to it.
func TestPolicyResolvedWhenRetryScheduled(t *testing.T) {
	e := newEnv(t)
	pol := &policies{m: map[string]dispatch.Policy{e.config.ID: {Schedule: ms(5, 5, 5, 5, 5, 5)}}}
	second := make(chan struct{})
	release := make(chan struct{})
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		if c.delivery.GetAttempt() == 2 {
			close(second)
			<-release
		}
		return retryable(500, "down"), nil
	}}
	ds := e.insert(t, e.webhook())
	e.run(t, s, dispatch.Options{Policies: pol, BreakerThreshold: -1})
	select {
	case <-second:
	case <-time.After(waitTimeout):
		close(release)
		t.Fatal("no second attempt")
	}
	pol.set(e.config.ID, dispatch.Policy{Schedule: ms(5)}) // one retry only
	close(release)
	got := e.waitStatus(t, ds[0].ID, store.StatusDead)
	if got.Attempts != 2 {
		t.Errorf("%d attempts; want 2, the changed policy's", got.Attempts)
	}
}

// TestPolicyRate: deliveries over an endpoint's rate are put back without
// spending attempts, counted as deferred, and all go out; an endpoint
// without a rate is not held up by them.
func TestPolicyRate(t *testing.T) {
	e := newEnv(t)
	other, err := e.store.AddCallbackConfig(t.Context(), store.CallbackConfig{TenantID: e.tenant, URL: "https://other.example/hook"})
	if err != nil {
		t.Fatal(err)
	}
	pol := &policies{m: map[string]dispatch.Policy{e.config.ID: {Rate: dispatch.Rate{PerSecond: 20}}}}
	s := &sender{}
	const n = 10
	var ds []store.Delivery
	for range n {
		ds = append(ds, e.webhook(), store.Delivery{Channel: "http", ConfigID: other.ID, Destination: other.URL, Body: []byte("x")})
	}
	m := metrics.New()
	r := e.runLoaded(t, s, dispatch.Options{Policies: pol, Metrics: m})
	ds = e.insert(t, ds...)
	r.Notify(ds)
	for _, d := range ds {
		if got := e.waitStatus(t, d.ID, store.StatusSucceeded); got.Attempts != 1 {
			t.Errorf("%s: %d attempts; waiting for the rate must not count", d.ID, got.Attempts)
		}
	}
	// The sends in order: the endpoint without a rate was done before the
	// rated one, which a rate of 20/s spreads over nearly half a second.
	lastRated, lastOther := -1, -1
	for i, c := range s.sent() {
		switch c.delivery.GetDestination() {
		case e.config.URL:
			lastRated = i
		case other.URL:
			lastOther = i
		}
	}
	if lastOther > lastRated {
		t.Errorf("the last send to the endpoint without a rate (#%d) came after the rated one's (#%d)", lastOther, lastRated)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if !strings.Contains(string(body), `callgate_endpoint_deferred_total{config_id="`+e.config.ID+`",reason="rate"}`) {
		t.Errorf("no deferral by rate counted for the rated endpoint:\n%s", grep(string(body), "callgate_endpoint_"))
	}
	if strings.Contains(string(body), `callgate_endpoint_deferred_total{config_id="`+other.ID+`",reason="rate"}`) {
		t.Errorf("the endpoint without a rate was deferred by rate")
	}
	if want := `callgate_endpoint_attempts_total{config_id="` + e.config.ID + `",outcome="delivered"} 10`; !strings.Contains(string(body), want) {
		t.Errorf("metrics lack %q:\n%s", want, grep(string(body), "callgate_endpoint_"))
	}
}

// grep keeps the lines of s that start with prefix.
func grep(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
