package gateway

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/callgate/callgate/core/api"
	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
)

// policyResolver tells the dispatcher how an endpoint's deliveries are
// retried and paced: the config's own schedule and rate, else the
// tenant's schedule (the dispatcher falls back to the gateway's). It is
// asked at every attempt, so answers are kept: a config's for
// policyTTL, a tenant's as long as tenantLimits keeps it. Changes made
// through the API forget the answer at once (ConfigChanged,
// tenantLimits.Forget), so the TTL only bounds how stale an answer can be
// if something else changed the store.
type policyResolver struct {
	store interface {
		CallbackConfigPolicy(ctx context.Context, tenantID, id string) (store.DeliveryPolicy, error)
	}
	tenants *tenantLimits
	// deleted hears that a config is gone (the dispatcher forgets its
	// endpoint); set once the dispatcher exists.
	deleted func(configID string)

	mu    sync.Mutex
	cache map[[2]string]cachedPolicy
}

type cachedPolicy struct {
	p  dispatch.Policy // its Schedule is shared: never changed once made
	at time.Time
}

const policyTTL = 10 * time.Second

func newPolicyResolver(s *store.Store, tenants *tenantLimits) *policyResolver {
	return &policyResolver{store: s, tenants: tenants, cache: map[[2]string]cachedPolicy{}}
}

// Policy implements dispatch.Policies.
func (r *policyResolver) Policy(ctx context.Context, tenantID, configID string) (dispatch.Policy, error) {
	var p dispatch.Policy
	if configID != "" {
		var err error
		if p, err = r.config(ctx, tenantID, configID); err != nil {
			return dispatch.Policy{}, err
		}
	}
	if p.Schedule == nil {
		p.Schedule = r.tenants.retry(tenantID)
	}
	return p, nil
}

func (r *policyResolver) config(ctx context.Context, tenantID, configID string) (dispatch.Policy, error) {
	key := [2]string{tenantID, configID}
	r.mu.Lock()
	c, ok := r.cache[key]
	r.mu.Unlock()
	if ok && time.Since(c.at) < policyTTL {
		return c.p, nil
	}
	sp, err := r.store.CallbackConfigPolicy(ctx, tenantID, configID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return dispatch.Policy{}, err // a store failure is not remembered
	}
	// A deleted config has no policy; its deliveries fail on their own.
	p := dispatch.Policy{Schedule: sp.Retry.Schedule()}
	if sp.Rate != nil {
		p.Rate = dispatch.Rate{PerSecond: sp.Rate.PerSecond, Burst: sp.Rate.Burst}
	}
	r.mu.Lock()
	if len(r.cache) > 100_000 {
		clear(r.cache) // configs stay far fewer; this only bounds a flood
	}
	r.cache[key] = cachedPolicy{p: p, at: time.Now()}
	r.mu.Unlock()
	return p, nil
}

// ConfigChanged implements api.ConfigsChanged: it forgets the config's
// policy and, when the config was deleted, tells the dispatcher.
func (r *policyResolver) ConfigChanged(tenantID, configID string, deleted bool) {
	r.mu.Lock()
	delete(r.cache, [2]string{tenantID, configID})
	r.mu.Unlock()
	if deleted && r.deleted != nil {
		r.deleted(configID)
	}
}

var (
	_ dispatch.Policies  = (*policyResolver)(nil)
	_ api.ConfigsChanged = (*policyResolver)(nil)
)
