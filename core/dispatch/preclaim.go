package dispatch

import (
	"sync"
	"time"

	"github.com/callgate/callgate/core/store"
)

// maxWholeInMemory bounds the deliveries ingest stored already claimed that
// wait whole (body included) in memory for a worker: about 25 MB of
// 500-byte callbacks. Past it, ingest stores them pending, to be claimed
// when their turn comes.
const maxWholeInMemory = 10_000

// claimedSet holds the deliveries ingest stored already claimed, from
// Notify until a worker takes them. A delivery held back for a while (an
// open circuit, a rate) is slimmed to the end of its lease, which is
// enough to renew the claim with one write when it may go.
type claimedSet struct {
	mu    sync.Mutex
	m     map[string]claimed
	whole int
}

type claimed struct {
	dl         *store.Delivery // nil once slimmed
	leaseUntil time.Time
}

func newClaimedSet() *claimedSet { return &claimedSet{m: map[string]claimed{}} }

func (c *claimedSet) put(dl store.Delivery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[dl.ID]; ok && old.dl != nil {
		c.whole--
	}
	c.m[dl.ID] = claimed{dl: &dl, leaseUntil: dl.LeaseUntil}
	c.whole++
}

// full reports whether as many deliveries wait whole as may.
func (c *claimedSet) full() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.whole >= maxWholeInMemory
}

// take removes and returns what is held of id.
func (c *claimedSet) take(id string) (claimed, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if ok {
		delete(c.m, id)
		if e.dl != nil {
			c.whole--
		}
	}
	return e, ok
}

// slim keeps only the end of id's lease.
func (c *claimedSet) slim(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok && e.dl != nil {
		c.m[id] = claimed{leaseUntil: e.leaseUntil}
		c.whole--
	}
}
