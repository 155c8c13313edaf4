// Package limits keeps each tenant's request rate in check with token
// buckets: one set of buckets for ingest (callbacks submitted) and one for
// management calls (configs, rules, channels, deliveries), so a tenant
// flooding one cannot starve the other, nor any other tenant.
//
// Limits are applied after authentication, keyed by the authenticated
// tenant: a Connect interceptor for the Connect services (see
// [Limits.Interceptor]) and an HTTP middleware for the seed's REST paths
// (see [Limits.Middleware]). The TC3 endpoint asks its [Limiter] itself,
// since it authenticates with its own signatures.
package limits

import (
	"math"
	"sync"
	"time"
)

// Rate is a sustained rate and the burst a bucket holds.
type Rate struct {
	// PerSecond is how many calls a second a tenant may make on average.
	// In Options, zero means the default; a negative value (and, given to
	// NewLimiter, zero too) means no limit.
	PerSecond float64
	// Burst is how many calls may come at once after a quiet spell. Zero
	// means twice PerSecond (at least 1).
	Burst int
}

// The defaults: ingest is the hot path; management follows the seed's
// "默认接口请求频率限制:20次/秒" (20 requests a second by default).
var (
	DefaultIngest = Rate{PerSecond: 2000, Burst: 4000}
	DefaultManage = Rate{PerSecond: 20, Burst: 40}
)

// withDefault fills in what r leaves unset from def.
func (r Rate) withDefault(def Rate) Rate {
	if r.PerSecond == 0 {
		r.PerSecond = def.PerSecond
		if r.Burst == 0 {
			r.Burst = def.Burst
		}
	}
	return r
}

// Limiter is a token bucket per key (a tenant id). It is safe for
// concurrent use. The nil *Limiter allows everything.
//
// Each bucket is kept as one instant, the "theoretical arrival time" of
// the generic cell rate algorithm: the bucket is full when that time has
// passed, and every call taken moves it one interval (1/rate) later. A call
// is allowed while the time lies at most burst-1 intervals ahead. This is
// the token bucket exactly, in whole nanoseconds, so waits come out exact.
type Limiter struct {
	rate      Rate
	interval  time.Duration // between two tokens
	tolerance time.Duration // (burst-1) intervals
	now       func() time.Time

	mu      sync.Mutex
	tats    map[string]time.Time
	sweepAt int
}

// minSweep is the number of buckets kept before full ones are dropped.
const minSweep = 1024

// maxInterval bounds the interval of absurdly slow rates, so that no sum
// of intervals overflows.
const maxInterval = 24 * time.Hour

// NewLimiter returns a Limiter for r, or nil (no limit) when r.PerSecond is
// not positive. A Burst below 1 means twice the rate (at least 1). now is
// the clock; nil means time.Now.
func NewLimiter(r Rate, now func() time.Time) *Limiter {
	if !(r.PerSecond > 0) || math.IsInf(r.PerSecond, 1) {
		return nil
	}
	if r.Burst < 1 {
		r.Burst = int(min(math.Ceil(2*r.PerSecond), 1<<30))
		r.Burst = max(1, r.Burst)
	}
	if now == nil {
		now = time.Now
	}
	interval := time.Duration(min(math.Round(float64(time.Second)/r.PerSecond), float64(maxInterval)))
	interval = max(interval, 1)
	tolerance := time.Duration(min(float64(r.Burst-1)*float64(interval), float64(math.MaxInt64/4)))
	return &Limiter{
		rate: r, interval: interval, tolerance: tolerance, now: now,
		tats: map[string]time.Time{}, sweepAt: minSweep,
	}
}

// Rate is the limiter's rate; the zero Rate for the nil Limiter.
func (l *Limiter) Rate() Rate {
	if l == nil {
		return Rate{}
	}
	return l.rate
}

// Allow takes a token from key's bucket. When there is none it takes
// nothing and says how long until there will be one.
func (l *Limiter) Allow(key string) (retryAfter time.Duration, ok bool) {
	return l.AllowN(key, 1)
}

// AllowN takes n tokens from key's bucket at once, for a batch of n calls.
// When there are fewer it takes nothing and says how long until there will
// be n; n above the burst never fits (see [Rate]), and the wait says when
// the bucket is full.
func (l *Limiter) AllowN(key string, n int) (retryAfter time.Duration, ok bool) {
	if l == nil || n <= 0 {
		return 0, true
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, seen := l.tats[key]
	if !seen {
		l.sweep(now)
	}
	// A bucket unused for long, or new, is full: its time is now. No
	// bucket is legitimately more than burst intervals ahead; one that is
	// saw the clock go back (an injected one: time.Now's is monotonic) and
	// is taken as empty rather than locked for as long as the clock jumped.
	if tat.Before(now) {
		tat = now
	} else if most := l.tolerance + l.interval; tat.Sub(now) > most {
		tat = now.Add(most)
		l.tats[key] = tat
	}
	if n > l.rate.Burst {
		return max(tat.Sub(now), 0), false
	}
	// n tokens fit when the last of them would be allowed on its own.
	if ahead := tat.Sub(now) + time.Duration(n-1)*l.interval; ahead > l.tolerance {
		return ahead - l.tolerance, false
	}
	l.tats[key] = tat.Add(time.Duration(n) * l.interval)
	return 0, true
}

// sweep drops the buckets that have filled up again, which are the same
// as absent ones, once there are many: keys are tenants, so they are few,
// but a removed tenant's bucket need not live forever.
func (l *Limiter) sweep(now time.Time) {
	if len(l.tats) < l.sweepAt {
		return
	}
	for k, tat := range l.tats {
		if !tat.After(now) {
			delete(l.tats, k)
		}
	}
	l.sweepAt = max(minSweep, 2*len(l.tats))
}

// RetryAfterSeconds is d as a Retry-After value: whole seconds, rounded up,
// at least 1.
func RetryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
