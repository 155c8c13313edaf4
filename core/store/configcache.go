package store

import (
	"maps"
	"slices"
	"sync"
)

// configCache keeps what every callback and every attempt reads of the
// callback configs (a tenant's config refs, a config by id), which
// otherwise is a query each. A transaction that writes callback_configs
// turns the cache off from before its first change (begin) until it has
// committed or rolled back (end), which clears it: meanwhile every read
// asks the store, and a read that raced with a write does not keep what it
// read (the generation moved on).
type configCache struct {
	mu      sync.Mutex
	gen     uint64
	writing int                       // transactions between begin and end
	refs    map[string][]ConfigRef    // by tenant
	byID    map[string]CallbackConfig // by tenant \x00 id
}

// generation is the cache's generation, to pass to keepRefs or keepConfig
// after reading the store.
func (c *configCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// begin turns the cache off for a transaction about to change configs.
func (c *configCache) begin() {
	c.mu.Lock()
	c.writing++
	c.gen++
	clear(c.refs)
	clear(c.byID)
	c.mu.Unlock()
}

// end turns it on again, empty, once that transaction has ended.
func (c *configCache) end() {
	c.mu.Lock()
	c.writing--
	c.gen++
	clear(c.refs)
	clear(c.byID)
	c.mu.Unlock()
}

func (c *configCache) getRefs(tenantID string) ([]ConfigRef, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.writing > 0 {
		return nil, false
	}
	refs, ok := c.refs[tenantID]
	return slices.Clone(refs), ok
}

func (c *configCache) keepRefs(gen uint64, tenantID string, refs []ConfigRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.writing > 0 {
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
	if c.writing > 0 {
		return CallbackConfig{}, false
	}
	cfg, ok := c.byID[tenantID+"\x00"+id]
	return cloneConfig(cfg), ok
}

func (c *configCache) keepConfig(gen uint64, cfg CallbackConfig) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.writing > 0 {
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
