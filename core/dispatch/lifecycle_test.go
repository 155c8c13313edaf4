package dispatch_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// TestDispatcherSendsNotified: with the start-up load over, a delivery
// reaches the dispatcher only through Notify, and goes out once.
func TestDispatcherSendsNotified(t *testing.T) {
	e := newEnv(t)
	s := &sender{}
	r := e.runLoaded(t, s, dispatch.Options{})
	ds := e.insert(t, e.webhook())
	r.Notify(ds)
	got := e.waitStatus(t, ds[0].ID, store.StatusSucceeded)
	if got.Attempts != 1 || got.LastError != "" {
		t.Errorf("attempts %d, last error %q", got.Attempts, got.LastError)
	}
	if as := e.attempts(t, ds[0].ID); len(as) != 1 || as[0].Outcome != "delivered" || as[0].StatusCode != 200 {
		t.Errorf("attempts = %+v, want one delivered", as)
	}
	if n := s.sentTo(ds[0].ID); n != 1 {
		t.Errorf("sent %d times, want once", n)
	}
}

// TestDispatcherRecovers: what is in the store when the dispatcher starts
// goes out without anyone notifying it, as after a restart.
func TestDispatcherRecovers(t *testing.T) {
	tests := []struct {
		name         string
		prepare      func(t *testing.T, e *env) store.Delivery // stores the delivery in some state
		wantAttempts []int                                     // attempt numbers recorded
	}{
		{
			name: "pending_never_notified",
			prepare: func(t *testing.T, e *env) store.Delivery {
				return e.insert(t, e.webhook())[0]
			},
			wantAttempts: []int{1},
		},
		{
			name: "pending_due_soon",
			prepare: func(t *testing.T, e *env) store.Delivery {
				d := e.webhook()
				d.NextAttemptAt = time.Now().Add(50 * time.Millisecond)
				return e.insert(t, d)[0]
			},
			wantAttempts: []int{1},
		},
		{
			name: "failed_with_retry_due",
			prepare: func(t *testing.T, e *env) store.Delivery {
				d := e.insert(t, e.webhook())[0]
				claimed, err := e.store.Claim(t.Context(), d.ID, time.Now(), time.Minute)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.store.Complete(t.Context(), store.Completion{
					Attempt: store.Attempt{DeliveryID: d.ID, Number: claimed.Attempts, StartedAt: time.Now(), Outcome: "retryable"},
					Status:  store.StatusFailed, NextAttemptAt: time.Now(), LastError: "status 503",
				}); err != nil {
					t.Fatal(err)
				}
				return d
			},
			wantAttempts: []int{1, 2},
		},
		{
			// The gateway died mid-send: once the lease runs out the
			// delivery goes out again, as the next attempt.
			name: "inflight_with_expired_lease",
			prepare: func(t *testing.T, e *env) store.Delivery {
				d := e.insert(t, e.webhook())[0]
				if _, err := e.store.Claim(t.Context(), d.ID, time.Now(), time.Millisecond); err != nil {
					t.Fatal(err)
				}
				return d
			},
			wantAttempts: []int{2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			d := tt.prepare(t, e)
			s := &sender{}
			e.run(t, s, dispatch.Options{})
			e.waitStatus(t, d.ID, store.StatusSucceeded)
			var numbers []int
			for _, a := range e.attempts(t, d.ID) {
				numbers = append(numbers, a.Number)
			}
			if fmt.Sprint(numbers) != fmt.Sprint(tt.wantAttempts) {
				t.Errorf("attempts recorded %v, want %v", numbers, tt.wantAttempts)
			}
			if sent := s.sent(); len(sent) != 1 || int(sent[0].delivery.GetAttempt()) != tt.wantAttempts[len(tt.wantAttempts)-1] {
				t.Errorf("sends = %d, want one carrying attempt %d", len(sent), tt.wantAttempts[len(tt.wantAttempts)-1])
			}
		})
	}
}

// TestDispatcherLiveLeaseIsLeftAlone: a delivery another sender holds is
// not taken while its lease lasts, even when notified.
func TestDispatcherLiveLeaseIsLeftAlone(t *testing.T) {
	e := newEnv(t)
	held := e.insert(t, e.webhook())[0]
	// Longer than the horizon, so that the loader does not queue the
	// lease's end either.
	if _, err := e.store.Claim(t.Context(), held.ID, time.Now(), 2*time.Hour); err != nil {
		t.Fatal(err)
	}
	s := &sender{}
	r := e.run(t, s, dispatch.Options{})
	r.Notify([]store.Delivery{held})
	// A delivery notified after the held one goes out; by then the held
	// one has had its turn.
	next := e.insert(t, e.webhook())
	r.Notify(next)
	e.waitStatus(t, next[0].ID, store.StatusSucceeded)
	waitFor(t, "the queue to drain", func() bool { return r.Queued() == 0 })
	if n := s.sentTo(held.ID); n != 0 {
		t.Errorf("a delivery under someone else's lease was sent %d times", n)
	}
	if got := e.get(t, held.ID); got.Status != store.StatusInflight || got.Attempts != 1 {
		t.Errorf("held delivery is %s with %d attempts", got.Status, got.Attempts)
	}
}

// TestDispatcherSendsEachOnce: deliveries found by the loader and notified
// (some twice) are each sent exactly once by concurrent workers.
func TestDispatcherSendsEachOnce(t *testing.T) {
	e := newEnv(t)
	var early []store.Delivery
	for range 20 {
		early = append(early, e.webhook())
	}
	early = e.insert(t, early...)
	s := &sender{}
	r := e.run(t, s, dispatch.Options{Workers: 8})
	r.Notify(early)
	var late []store.Delivery
	for range 20 {
		ds := e.insert(t, e.webhook())
		r.Notify(ds)
		r.Notify(ds)
		late = append(late, ds...)
	}
	for _, d := range append(early, late...) {
		e.waitStatus(t, d.ID, store.StatusSucceeded)
		if n := s.sentTo(d.ID); n != 1 {
			t.Errorf("%s sent %d times", d.ID, n)
		}
	}
}

// TestDispatcherShutdown: Run returns once its context ends, after the
// send in flight has finished and been recorded; nothing new starts.
func TestDispatcherShutdown(t *testing.T) {
	e := newEnv(t)
	started := make(chan call, 1)
	release := make(chan struct{})
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		started <- c
		<-release
		return delivered(), nil
	}}
	r := e.run(t, s, dispatch.Options{Workers: 1})
	ds := e.insert(t, e.webhook(), e.webhook())
	r.Notify(ds)
	var first call
	select {
	case first = <-started:
	case <-time.After(waitTimeout):
		t.Fatal("nothing was sent")
	}
	r.cancel()
	select {
	case err := <-r.done:
		t.Fatalf("Run returned (%v) while a send was in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	if err := first.ctx.Err(); err != nil {
		t.Errorf("the send in flight lost its context at shutdown: %v", err)
	}
	close(release)
	if err := r.stop(t); err != nil {
		t.Errorf("Run = %v, want nil", err)
	}

	sentID := first.delivery.GetId()
	if got := e.get(t, sentID); got.Status != store.StatusSucceeded {
		t.Errorf("delivery in flight at shutdown ended %s, want succeeded", got.Status)
	}
	if as := e.attempts(t, sentID); len(as) != 1 || as[0].Outcome != "delivered" {
		t.Errorf("attempts of the delivery in flight = %+v", as)
	}
	other := ds[0].ID
	if other == sentID {
		other = ds[1].ID
	}
	if n := s.sentTo(other); n != 0 {
		t.Errorf("a delivery was started after shutdown")
	}
	if got := e.get(t, other); got.Status != store.StatusPending || got.Attempts != 0 {
		t.Errorf("unsent delivery is %s with %d attempts, want pending for the next start", got.Status, got.Attempts)
	}
}

func TestRunWithCancelledContextReturns(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() { done <- dispatch.New(e.store, &sender{}, discard, dispatch.Options{}).Run(ctx) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return")
	}
}
