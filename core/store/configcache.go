package store

import (
	"maps"
	"slices"
	"sync"
)

// configCache keeps what every callback and every attempt reads of the
// callback configs (a tenant's config refs, a config by id), which
// otherwise is a query each. Every write to callback_configs clears it
// once committed; a read that raced with a write does not keep what it
// read (the generation moved on).
type configCache struct {
	mu   sync.Mutex
	gen  uint64
	refs map[string][]ConfigRef    // by tenant
	byID map[string]CallbackConfig // by tenant \x00 id
}

// generation is the cache's generation, to pass to keepRefs or keepConfig
// after reading the store.
func (c *configCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// invalidate forgets everything; call it after a write to callback_configs
// has committed.
func (c *configCache) invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.refs)
	clear(c.byID)
	c.mu.Unlock()
}

func (c *configCache) getRefs(tenantID string) ([]ConfigRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	refs, ok := c.refs[tenantID]
	return slices.Clone(refs), ok
}

func (c *configCache) keepRefs(gen uint64, tenantID string, refs []ConfigRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.refs == nil {
		c.refs = map[string][]ConfigRef{}
	}
	c.refs[tenantID] = slices.Clone(refs)
}

func (c *configCache) getConfig(tenantID, id string) (CallbackConfig, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg, ok := c.byID[tenantID+"\x00"+id]
	return cloneConfig(cfg), ok
}

func (c *configCache) keepConfig(gen uint64, cfg CallbackConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.byID == nil {
		c.byID = map[string]CallbackConfig{}
	}
	c.byID[cfg.TenantID+"\x00"+cfg.ID] = cloneConfig(cfg)
}

// cloneConfig copies what a caller could change in place and the cache
// must not see changed: the maps and the pointed-to parts.
func cloneConfig(c CallbackConfig) CallbackConfig {
	c.Auth.Headers = maps.Clone(c.Auth.Headers)
	if c.Auth.OAuth2 != nil {
		o := *c.Auth.OAuth2
		c.Auth.OAuth2 = &o
	}
	if c.Policy.Retry != nil {
		r := RetryPolicy{ScheduleMs: slices.Clone(c.Policy.Retry.ScheduleMs)}
		c.Policy.Retry = &r
	}
	if c.Policy.Rate != nil {
		r := *c.Policy.Rate
		c.Policy.Rate = &r
	}
	return c
}
