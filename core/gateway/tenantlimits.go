package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/callgate/callgate/core/limits"
	"github.com/callgate/callgate/core/store"
)

// tenantLimits answers the limiter's question "does this tenant have limits
// of its own?" from the store, remembering answers for a few seconds: it is
// asked on every call, and limits change rarely (UpdateTenant forgets the
// tenant's answer at once).
type tenantLimits struct {
	store interface {
		GetTenant(ctx context.Context, id string) (store.Tenant, error)
	}
	mu sync.Mutex
	m  map[string]cachedLimits
}

type cachedLimits struct {
	l  store.TenantLimits
	at time.Time
}

const tenantLimitsTTL = 5 * time.Second

func (t *tenantLimits) lookup(tenantID string, c limits.Class) (limits.Rate, bool) {
	cl := t.get(tenantID)
	switch {
	case c == limits.Ingest && cl.IngestRate != 0:
		return limits.Rate{PerSecond: cl.IngestRate, Burst: cl.IngestBurst}, true
	case c == limits.Manage && cl.ManageRate != 0:
		return limits.Rate{PerSecond: cl.ManageRate, Burst: cl.ManageBurst}, true
	}
	return limits.Rate{}, false
}

// ruleTime is the tenant's own time limit per rule call, 0 for none.
func (t *tenantLimits) ruleTime(tenantID string) time.Duration {
	return time.Duration(t.get(tenantID).RuleTimeMs) * time.Millisecond
}

func (t *tenantLimits) get(tenantID string) store.TenantLimits {
	t.mu.Lock()
	cl, ok := t.m[tenantID]
	t.mu.Unlock()
	if !ok || time.Since(cl.at) > tenantLimitsTTL {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		tn, err := t.store.GetTenant(ctx, tenantID)
		cancel()
		if err != nil {
			return store.TenantLimits{} // the gateway's limits apply
		}
		cl = cachedLimits{l: tn.Limits, at: time.Now()}
		t.mu.Lock()
		t.m[tenantID] = cl
		t.mu.Unlock()
	}
	return cl.l
}

// Forget drops what is remembered of a tenant's limits.
func (t *tenantLimits) Forget(tenantID string) {
	t.mu.Lock()
	delete(t.m, tenantID)
	t.mu.Unlock()
}
