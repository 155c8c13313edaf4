package gateway

import (
	"context"
	"sync"
	"time"

	"github.com/callgate/callgate/core/limits"
	"github.com/callgate/callgate/core/ruleset"
	"github.com/callgate/callgate/core/store"
)

// tenantLimits answers the limiter's question "does this tenant have limits
// of its own?" (and the dispatcher's "does it have a retry schedule of its
// own?") from the store, remembering answers for a few seconds: it is
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

// rules is the tenant's own rule limits; zero fields for none.
func (t *tenantLimits) rules(tenantID string) ruleset.TenantLimits {
	l := t.get(tenantID)
	return ruleset.TenantLimits{
		Time:        time.Duration(l.RuleTimeMs) * time.Millisecond,
		MemoryPages: uint32(l.RuleMemoryMiB) * 16, // 16 pages of 64 KiB a MiB
		MaxOutput:   l.RuleOutputKiB << 10,
	}
}

// retry is the tenant's own retry schedule, nil for none.
func (t *tenantLimits) retry(tenantID string) []time.Duration {
	return t.get(tenantID).Retry.Schedule()
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
