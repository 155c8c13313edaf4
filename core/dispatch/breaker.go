package dispatch

import (
	"sync"
	"time"
)

// breakers keep one circuit per endpoint (callback config): after
// threshold failures in a row the circuit opens and deliveries to that
// endpoint wait, without spending attempts, until a single probe is let
// through; its success closes the circuit, its failure opens it again for
// twice as long. Other endpoints are never held up.
type breakers struct {
	mu        sync.Mutex
	m         map[string]*breaker
	threshold int
	cooldown  time.Duration
	maxCool   time.Duration
}

type breaker struct {
	fails     int
	openUntil time.Time
	cool      time.Duration
	probing   bool
}

func newBreakers(threshold int, cooldown, maxCool time.Duration) *breakers {
	return &breakers{m: map[string]*breaker{}, threshold: threshold, cooldown: cooldown, maxCool: maxCool}
}

// allow says whether a delivery to endpoint may be sent now; if not, when
// to look again. probe says the send is the one probe of an open circuit:
// it must be reported, or released when it did not reach the endpoint.
func (b *breakers) allow(endpoint string, now time.Time) (ok bool, until time.Time, probe bool) {
	if endpoint == "" || b.threshold <= 0 {
		return true, time.Time{}, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.m[endpoint]
	if br == nil || br.fails < b.threshold {
		return true, time.Time{}, false
	}
	if now.Before(br.openUntil) {
		return false, br.openUntil, false
	}
	if br.probing {
		return false, now.Add(min(br.cool, time.Second)), false
	}
	br.probing = true
	return true, time.Time{}, true
}

// release hands back a probe that said nothing about the endpoint (the
// gateway itself failed to send it), so that another delivery may probe.
func (b *breakers) release(endpoint string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if br := b.m[endpoint]; br != nil {
		br.probing = false
	}
}

// Circuit states, as the per-endpoint gauge shows them.
const (
	circuitClosed   = 0
	circuitOpen     = 1
	circuitHalfOpen = 2 // a probe is out
)

// state is endpoint's circuit state.
func (b *breakers) state(endpoint string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.m[endpoint]
	switch {
	case br == nil || b.threshold <= 0 || br.fails < b.threshold:
		return circuitClosed
	case br.probing:
		return circuitHalfOpen
	}
	return circuitOpen
}

// forget drops endpoint's circuit (its config was deleted).
func (b *breakers) forget(endpoint string) {
	b.mu.Lock()
	delete(b.m, endpoint)
	b.mu.Unlock()
}

// report records an attempt's result for endpoint.
func (b *breakers) report(endpoint string, ok bool, now time.Time) {
	if endpoint == "" || b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	br := b.m[endpoint]
	if ok {
		delete(b.m, endpoint)
		return
	}
	if br == nil {
		br = &breaker{}
		b.m[endpoint] = br
	}
	br.fails++
	if br.fails < b.threshold {
		return
	}
	switch {
	case br.cool == 0:
		br.cool = b.cooldown
	case br.probing:
		br.cool = min(2*br.cool, b.maxCool)
	}
	br.probing = false
	br.openUntil = now.Add(br.cool)
}

// open counts the endpoints whose circuit is open now.
func (b *breakers) open(now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, br := range b.m {
		if br.fails >= b.threshold && now.Before(br.openUntil) {
			n++
		}
	}
	return n
}

// slots cap the sends running at once to each endpoint. A delivery that
// finds its endpoint busy waits in line, in memory, and is handed the slot
// of the next send to finish: no store write, no timer, no worker held.
type slots struct {
	mu       sync.Mutex
	n        map[string]int
	most     int
	waiting  map[string][]string // endpoint -> delivery ids in line
	reserved map[string]bool     // ids handed a slot, not yet taken
}

func newSlots(most int) *slots {
	return &slots{n: map[string]int{}, most: most, waiting: map[string][]string{}, reserved: map[string]bool{}}
}

// take reports whether delivery id may start a send to endpoint; done
// must follow. When not, id is in line for the endpoint's next free slot.
func (s *slots) take(endpoint, id string) bool {
	if endpoint == "" || s.most <= 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reserved[id] {
		delete(s.reserved, id) // handed over by done, already counted
		return true
	}
	if s.n[endpoint] >= s.most {
		s.waiting[endpoint] = append(s.waiting[endpoint], id)
		return false
	}
	s.n[endpoint]++
	return true
}

// done ends a send to endpoint. When a delivery waits for the endpoint,
// the slot passes to it and its id is returned, for the caller to queue.
func (s *slots) done(endpoint string) (next string, ok bool) {
	if endpoint == "" || s.most <= 0 {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if line := s.waiting[endpoint]; len(line) > 0 {
		next = line[0]
		if len(line) == 1 {
			delete(s.waiting, endpoint)
		} else {
			s.waiting[endpoint] = line[1:]
		}
		s.reserved[next] = true
		return next, true
	}
	if s.n[endpoint]--; s.n[endpoint] <= 0 {
		delete(s.n, endpoint)
	}
	return "", false
}
