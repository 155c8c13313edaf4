package dispatch

import (
	"math"
	"sync"
	"time"
)

// Rate bounds how fast deliveries go to one endpoint: a token bucket of
// Burst tokens (at least 1) refilled at PerSecond. A PerSecond of 0 or
// less means no bound.
type Rate struct {
	PerSecond float64
	Burst     int
}

// heldTokenTTL is how long a token promised to a waiting delivery is kept
// for it after it fell due: a delivery that comes back later than that (it
// was retried by hand, or waited behind a circuit) asks anew.
const heldTokenTTL = time.Minute

// rates keep one token bucket per endpoint that has a rate. A delivery
// over the rate is not refused and left to ask again (a crowd of waiting
// deliveries would then all come back at the same instant and all but one
// be turned away again): it is promised the next free token, and told when
// that is. When it comes back then, it goes without taking another token.
// So deliveries over the rate wait in the dispatcher's timer queue in the
// order they came, each deferred once, and no worker waits.
type rates struct {
	mu        sync.Mutex
	m         map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	rate   Rate
	tokens float64   // below zero: tokens already promised to waiting deliveries
	at     time.Time // when tokens was last brought up to date
	held   map[string]time.Time
}

func newRates() *rates { return &rates{m: map[string]*bucket{}} }

// take says whether delivery id may be sent to endpoint now under lim; if
// not, when its token is free.
func (r *rates) take(endpoint, id string, lim Rate, now time.Time) (bool, time.Time) {
	if endpoint == "" {
		return true, time.Time{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if lim.PerSecond <= 0 {
		delete(r.m, endpoint) // no rate (any more)
		return true, time.Time{}
	}
	lim.Burst = max(lim.Burst, 1)
	b := r.m[endpoint]
	if b == nil || b.rate != lim {
		// A new or changed rate starts full. Deliveries promised a token
		// under the old rate ask again when they come back.
		b = &bucket{rate: lim, tokens: float64(lim.Burst), at: now, held: map[string]time.Time{}}
		r.m[endpoint] = b
	}
	if now.After(b.at) {
		b.tokens = min(float64(lim.Burst), b.tokens+now.Sub(b.at).Seconds()*lim.PerSecond)
		b.at = now
	}
	r.sweep(now)
	if at, ok := b.held[id]; ok {
		// Store times are in milliseconds: a delivery loaded from the
		// store may come back up to one early.
		if now.Add(time.Millisecond).Before(at) {
			return false, at // back early: keep waiting for its token
		}
		delete(b.held, id)
		return true, time.Time{}
	}
	b.tokens--
	if b.tokens >= 0 {
		return true, time.Time{}
	}
	// The token this delivery took is free once the bucket has refilled
	// to zero.
	at := now.Add(time.Duration(math.Ceil(-b.tokens / lim.PerSecond * float64(time.Second))))
	b.held[id] = at
	return false, at
}

// sweep forgets, now and then, tokens promised to deliveries that did not
// come back for them, and buckets that are full and idle. r.mu is held.
func (r *rates) sweep(now time.Time) {
	if now.Sub(r.lastSweep) < heldTokenTTL {
		return
	}
	r.lastSweep = now
	for endpoint, b := range r.m {
		for id, at := range b.held {
			if now.Sub(at) > heldTokenTTL {
				delete(b.held, id)
			}
		}
		full := b.tokens+now.Sub(b.at).Seconds()*b.rate.PerSecond >= float64(b.rate.Burst)
		if len(b.held) == 0 && full && now.Sub(b.at) > heldTokenTTL {
			delete(r.m, endpoint)
		}
	}
}

// forget drops what is kept of endpoint (it was deleted).
func (r *rates) forget(endpoint string) {
	r.mu.Lock()
	delete(r.m, endpoint)
	r.mu.Unlock()
}
