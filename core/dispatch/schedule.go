package dispatch

import (
	"math/rand/v2"
	"time"
)

// DefaultSchedule is the delay before each retry, from the EBaaS seed: 1 s,
// 3 s, 7 s, 30 s, 60 s, 300 s, then hourly, 20 retries in all.
var DefaultSchedule = func() []time.Duration {
	s := []time.Duration{time.Second, 3 * time.Second, 7 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}
	for len(s) < 20 {
		s = append(s, time.Hour)
	}
	return s
}()

// retryDelay returns how long to wait after the attempt-th attempt failed,
// and false when the schedule has no retry left. Jitter of up to ±10%
// keeps deliveries that failed together from retrying in lockstep.
func retryDelay(schedule []time.Duration, attempt int, jitter bool) (time.Duration, bool) {
	if attempt < 1 || attempt > len(schedule) {
		return 0, false
	}
	d := schedule[attempt-1]
	if jitter && d > 0 {
		d += time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	}
	return d, true
}
