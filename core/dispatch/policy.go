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
	return d.policyOf(ctx, job{id: dl.ID, tenantID: dl.TenantID, configID: dl.ConfigID})
}

func (d *Dispatcher) policyOf(ctx context.Context, j job) Policy {
	if d.opts.Policies == nil {
		return Policy{}
	}
	p, err := d.opts.Policies.Policy(ctx, j.tenantID, j.configID)
	if err != nil {
		d.log.Warn("endpoint policy unavailable; the defaults apply", "delivery_id", j.id,
			"tenant", j.tenantID, "config_id", j.configID, "error", err)
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

// admit decides, before the delivery is claimed, whether it may be sent
// now. A delivery held back costs no store write and holds no worker: it
// waits in memory, either in line for the endpoint's next free slot
// (parked) or in the timer queue until when it may go (until). The
// endpoint's concurrency cap comes first and its circuit last, so that a
// probe once let through is always sent; a token taken from the rate
// bucket by a delivery the circuit then holds back only makes the endpoint
// slower, never faster. When ok, the caller must give the slot back
// (freeSlot) after the send, and report or release a probe.
func (d *Dispatcher) admit(ctx context.Context, j job, now time.Time) (ok, probe, parked bool, until time.Time) {
	endpoint := j.configID
	if endpoint == "" {
		return true, false, false, time.Time{}
	}
	if !d.slots.take(endpoint, j.id) {
		// As many sends as the endpoint may take are running: in line.
		d.opts.Metrics.EndpointDeferred(endpoint, "busy")
		return false, false, true, time.Time{}
	}
	if ok, at := d.rates.take(endpoint, j.id, d.policyOf(ctx, j).Rate, now); !ok {
		// Over the endpoint's rate: wait for the token promised to it.
		d.freeSlot(endpoint)
		d.opts.Metrics.EndpointDeferred(endpoint, "rate")
		return false, false, false, at
	}
	ok, until, probe = d.breakers.allow(endpoint, now)
	if !ok {
		// The endpoint's circuit is open.
		d.freeSlot(endpoint)
		d.opts.Metrics.EndpointDeferred(endpoint, "breaker")
		return false, false, false, until
	}
	if probe {
		d.opts.Metrics.EndpointBreaker(endpoint, circuitHalfOpen)
	}
	return true, probe, false, time.Time{}
}

// freeSlot ends a send to endpoint; a delivery in line for it is queued,
// holding the slot.
func (d *Dispatcher) freeSlot(endpoint string) {
	if next, ok := d.slots.done(endpoint); ok {
		d.q.wait(next, d.now())
	}
}
