package limits_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/limits"
)

// clock is a fake clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustAllow(t *testing.T, l *limits.Limiter, key string) {
	t.Helper()
	if wait, ok := l.Allow(key); !ok {
		t.Fatalf("Allow(%q) refused, retry after %v", key, wait)
	}
}

func mustRefuse(t *testing.T, l *limits.Limiter, key string, wantWait time.Duration) {
	t.Helper()
	wait, ok := l.Allow(key)
	if ok {
		t.Fatalf("Allow(%q) allowed, want refused", key)
	}
	if wait != wantWait {
		t.Fatalf("Allow(%q) retry after %v, want %v", key, wait, wantWait)
	}
}

func TestLimiter(t *testing.T) {
	t.Run("burst_then_rate", func(t *testing.T) {
		c := newClock()
		l := limits.NewLimiter(limits.Rate{PerSecond: 2, Burst: 2}, c.Now)
		mustAllow(t, l, "t1")
		mustAllow(t, l, "t1")
		mustRefuse(t, l, "t1", 500*time.Millisecond)
		c.Advance(499 * time.Millisecond)
		mustRefuse(t, l, "t1", time.Millisecond)
		c.Advance(time.Millisecond)
		mustAllow(t, l, "t1")
		mustRefuse(t, l, "t1", 500*time.Millisecond)
	})
	t.Run("refusal_takes_nothing", func(t *testing.T) {
		c := newClock()
		l := limits.NewLimiter(limits.Rate{PerSecond: 1, Burst: 1}, c.Now)
		mustAllow(t, l, "t1")
		for range 10 {
			mustRefuse(t, l, "t1", time.Second)
		}
		c.Advance(time.Second)
		mustAllow(t, l, "t1")
	})
	t.Run("refills_only_to_burst", func(t *testing.T) {
		c := newClock()
		l := limits.NewLimiter(limits.Rate{PerSecond: 10, Burst: 3}, c.Now)
		mustAllow(t, l, "t1")
		c.Advance(time.Hour)
		for range 3 {
			mustAllow(t, l, "t1")
		}
		mustRefuse(t, l, "t1", 100*time.Millisecond)
	})
	t.Run("tenants_are_independent", func(t *testing.T) {
		c := newClock()
		l := limits.NewLimiter(limits.Rate{PerSecond: 1, Burst: 1}, c.Now)
		mustAllow(t, l, "t1")
		mustRefuse(t, l, "t1", time.Second)
		mustAllow(t, l, "t2")
	})
	t.Run("clock_going_back_refills_nothing", func(t *testing.T) {
		c := newClock()
		l := limits.NewLimiter(limits.Rate{PerSecond: 1, Burst: 1}, c.Now)
		mustAllow(t, l, "t1")
		c.Advance(-time.Hour)
		mustRefuse(t, l, "t1", time.Second)
		c.Advance(time.Second)
		mustAllow(t, l, "t1")
	})
	t.Run("slow_rate", func(t *testing.T) {
		c := newClock()
		l := limits.NewLimiter(limits.Rate{PerSecond: 0.5}, c.Now)
		if got := l.Rate(); got != (limits.Rate{PerSecond: 0.5, Burst: 1}) {
			t.Fatalf("Rate() = %+v, want burst 1", got)
		}
		mustAllow(t, l, "t1")
		mustRefuse(t, l, "t1", 2*time.Second)
	})
	t.Run("burst_defaults_to_twice_the_rate", func(t *testing.T) {
		if got := limits.NewLimiter(limits.Rate{PerSecond: 20}, nil).Rate(); got.Burst != 40 {
			t.Fatalf("burst = %d, want 40", got.Burst)
		}
	})
	t.Run("no_limit", func(t *testing.T) {
		for _, r := range []float64{0, -1} {
			l := limits.NewLimiter(limits.Rate{PerSecond: r}, nil)
			if l != nil {
				t.Fatalf("NewLimiter(%g) = %v, want nil", r, l)
			}
			for range 1000 {
				mustAllow(t, l, "t1")
			}
		}
	})
}

func TestLimiterSweepsFullBuckets(t *testing.T) {
	c := newClock()
	l := limits.NewLimiter(limits.Rate{PerSecond: 1, Burst: 1}, c.Now)
	for i := range 1023 {
		mustAllow(t, l, fmt.Sprint("idle", i))
	}
	mustAllow(t, l, "busy")
	c.Advance(999 * time.Millisecond)
	// The 1024 buckets are all but full again: the sweep a new key starts
	// drops nothing.
	mustAllow(t, l, "new1")
	if n := l.Len(); n != 1025 {
		t.Fatalf("%d buckets, want 1025", n)
	}
	// With nothing dropped, the next sweep waits for twice as many buckets.
	c.Advance(time.Millisecond)
	for i := range 1023 {
		mustAllow(t, l, fmt.Sprint("more", i))
	}
	mustAllow(t, l, "busy")
	c.Advance(time.Second)
	mustAllow(t, l, "busy")
	// busy has just been used; every other bucket is full and goes.
	mustAllow(t, l, "new2")
	if n := l.Len(); n != 2 {
		t.Fatalf("%d buckets after the sweep, want 2 (busy and new2)", n)
	}
	mustRefuse(t, l, "busy", time.Second)
	mustRefuse(t, l, "new2", time.Second)
	mustAllow(t, l, "idle0")
}

func TestLimiterConcurrent(t *testing.T) {
	c := newClock()
	l := limits.NewLimiter(limits.Rate{PerSecond: 1, Burst: 100}, c.Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 50 {
				if _, ok := l.Allow("t1"); ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("%d calls allowed from a burst of 100 with the clock stopped", allowed)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{time.Nanosecond, 1},
		{500 * time.Millisecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{2500 * time.Millisecond, 3},
	} {
		if got := limits.RetryAfterSeconds(tc.d); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	l := limits.New(limits.Options{Manage: limits.Rate{PerSecond: -1}})
	if got := l.Limiter(limits.Ingest).Rate(); got != limits.DefaultIngest {
		t.Errorf("ingest rate = %+v, want the default %+v", got, limits.DefaultIngest)
	}
	if l.Limiter(limits.Manage) != nil || l.Limiter(limits.None) != nil {
		t.Error("a negative rate or the class None still limits")
	}
	l = limits.New(limits.Options{Manage: limits.Rate{Burst: 5}})
	if got := l.Limiter(limits.Manage).Rate(); got != (limits.Rate{PerSecond: 20, Burst: 5}) {
		t.Errorf("manage rate = %+v, want the default rate with burst 5", got)
	}
}

func TestLimiterAllowN(t *testing.T) {
	for _, tc := range []struct {
		name     string
		used     int // tokens taken one by one first
		n        int
		wantOK   bool
		wantWait time.Duration
	}{
		{"full_bucket_takes_all", 0, 10, true, 0},
		{"some_left", 4, 6, true, 0},
		{"one_short", 5, 6, false, 100 * time.Millisecond},
		{"empty", 10, 3, false, 300 * time.Millisecond},
		{"more_than_burst", 0, 11, false, 0},
		{"none", 10, 0, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClock()
			l := limits.NewLimiter(limits.Rate{PerSecond: 10, Burst: 10}, c.Now)
			for range tc.used {
				mustAllow(t, l, "t1")
			}
			wait, ok := l.AllowN("t1", tc.n)
			if ok != tc.wantOK || wait != tc.wantWait {
				t.Fatalf("AllowN(%d) after %d = %v, %v; want %v, %v", tc.n, tc.used, wait, ok, tc.wantWait, tc.wantOK)
			}
			// What was refused took nothing: the bucket is as it was.
			left := 10 - tc.used
			if ok {
				left -= tc.n
			}
			for range left {
				mustAllow(t, l, "t1")
			}
			mustRefuse(t, l, "t1", 100*time.Millisecond)
			if ok && tc.n > 0 {
				// After the wait the tokens are there again.
				c.Advance(time.Duration(tc.n) * 100 * time.Millisecond)
				if _, ok := l.AllowN("t1", tc.n); !ok {
					t.Fatalf("AllowN(%d) refused after the bucket refilled", tc.n)
				}
			}
		})
	}
}
