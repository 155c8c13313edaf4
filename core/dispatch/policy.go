package dispatch

import (
	"context"
	"time"

	"github.com/callgate/callgate/core/store"
)

// Policy is how deliveries to one endpoint are retried and paced.
type Policy struct {
	// Schedule is the delay before each retry: the config's own schedule,
	// else its tenant's. nil takes Options.Schedule; empty means no
	// retries. A rule's schedule on the delivery wins over it.
	Schedule []time.Duration
	// Rate bounds the sends per second to the endpoint (zero: no bound).
	Rate Rate
}

// Policies resolves the policy of a tenant's endpoint; configID is empty
// for deliveries without a config, which only a tenant's schedule applies
// to. It is asked at every attempt and again when a retry is scheduled,
// so that a changed policy applies to deliveries already waiting: answer
// from memory.
type Policies interface {
	Policy(ctx context.Context, tenantID, configID string) (Policy, error)
}

// policy is dl's endpoint policy; the zero Policy (the dispatcher's
// schedule, no rate) when there is none or it cannot be had.
func (d *Dispatcher) policy(ctx context.Context, dl store.Delivery) Policy {
	if d.opts.Policies == nil {
		return Policy{}
	}
	p, err := d.opts.Policies.Policy(ctx, dl.TenantID, dl.ConfigID)
	if err != nil {
		d.log.Warn("endpoint policy unavailable; the defaults apply", "delivery_id", dl.ID,
			"tenant", dl.TenantID, "config_id", dl.ConfigID, "error", err)
		return Policy{}
	}
	return p
}

// retrySchedule is the schedule dl's next retry follows: its rule's, else
// its endpoint's (the config's, else the tenant's), else the
// dispatcher's. It is resolved when the retry is scheduled, so a policy
// changed meanwhile applies.
func (d *Dispatcher) retrySchedule(ctx context.Context, dl store.Delivery) []time.Duration {
	if dl.Schedule != nil {
		return dl.Schedule
	}
	if s := d.policy(ctx, dl).Schedule; s != nil {
		return s
	}
	return d.opts.Schedule
}

// admit decides whether a claimed delivery may be sent now; if not, until
// when it waits. The endpoint's concurrency cap comes first and its
// circuit last, so that a probe once let through is always sent; a
// token taken from the rate bucket by a delivery the circuit then holds
// back only makes the endpoint slower, never faster. When ok, the caller
// must give the slot back (slots.done) after the send, and report or
// release a probe.
func (d *Dispatcher) admit(ctx context.Context, dl store.Delivery, now time.Time) (ok, probe bool, until time.Time) {
	endpoint := dl.ConfigID
	if endpoint == "" {
		return true, false, time.Time{}
	}
	if !d.slots.take(endpoint) {
		// As many sends as the endpoint may take are running: wait a
		// moment.
		d.opts.Metrics.EndpointDeferred(endpoint, "busy")
		return false, false, now.Add(50 * time.Millisecond)
	}
	if ok, at := d.rates.take(endpoint, dl.ID, d.policy(ctx, dl).Rate, now); !ok {
		// Over the endpoint's rate: wait for the token promised to it.
		d.slots.done(endpoint)
		d.opts.Metrics.EndpointDeferred(endpoint, "rate")
		return false, false, at
	}
	ok, until, probe = d.breakers.allow(endpoint, now)
	if !ok {
		// The endpoint's circuit is open.
		d.slots.done(endpoint)
		d.opts.Metrics.EndpointDeferred(endpoint, "breaker")
		return false, false, until
	}
	if probe {
		d.opts.Metrics.EndpointBreaker(endpoint, circuitHalfOpen)
	}
	return true, probe, time.Time{}
}
