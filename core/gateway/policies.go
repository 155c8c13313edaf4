package gateway

import (
	"context"
	"errors"

	"github.com/callgate/callgate/core/api"
	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/store"
)

// policyResolver tells the dispatcher how an endpoint's deliveries are
// retried and paced: the config's own schedule and rate, else the
// tenant's schedule (the dispatcher falls back to the gateway's). It is
// asked at every attempt and answers from memory: the store keeps configs
// until they change, tenantLimits a tenant's settings.
type policyResolver struct {
	store interface {
		CallbackConfigPolicy(ctx context.Context, tenantID, id string) (store.DeliveryPolicy, error)
	}
	tenants *tenantLimits
	// deleted hears that a config is gone (the dispatcher forgets its
	// endpoint); set once the dispatcher exists.
	deleted func(configID string)
}

func newPolicyResolver(s *store.Store, tenants *tenantLimits) *policyResolver {
	return &policyResolver{store: s, tenants: tenants}
}

// Policy implements dispatch.Policies.
func (r *policyResolver) Policy(ctx context.Context, tenantID, configID string) (dispatch.Policy, error) {
	var p dispatch.Policy
	if configID != "" {
		sp, err := r.store.CallbackConfigPolicy(ctx, tenantID, configID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return dispatch.Policy{}, err
		}
		// A deleted config has no policy; its deliveries fail on their own.
		p.Schedule = sp.Retry.Schedule()
		if sp.Rate != nil {
			p.Rate = dispatch.Rate{PerSecond: sp.Rate.PerSecond, Burst: sp.Rate.Burst}
		}
	}
	if p.Schedule == nil {
		p.Schedule = r.tenants.retry(tenantID)
	}
	return p, nil
}

// ConfigChanged implements api.ConfigsChanged: when the config was
// deleted, it tells the dispatcher.
func (r *policyResolver) ConfigChanged(tenantID, configID string, deleted bool) {
	if deleted && r.deleted != nil {
		r.deleted(configID)
	}
}

var (
	_ dispatch.Policies  = (*policyResolver)(nil)
	_ api.ConfigsChanged = (*policyResolver)(nil)
)
