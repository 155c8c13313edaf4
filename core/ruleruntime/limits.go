package ruleruntime

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Defaults applied to zero fields of Limits.
const (
	DefaultTime        = 50 * time.Millisecond
	DefaultMemoryPages = 256 // 16 MiB
	DefaultMaxOutput   = 1 << 20
)

// FuelPerMillisecond converts Limits.Time into the fuel budget of a call. One
// unit is spent at every function entry and every loop iteration.
//
// It was measured with BenchmarkCalibrate on the 2-core x86-64 machine this
// was written on: a tight Wasm loop spends about 850,000 units per
// millisecond, a Wasm loop that calls a small function about 500,000, and Go
// code (a loop of arithmetic, then small calls and allocations) about
// 350,000. With 600,000, fuel alone ends a tight loop at about 0.7 Time and Go
// code at about 1.7 Time; the wall clock usually ends the latter at Time.
// Fuel has to be close because the wall clock cannot always act: Go's garbage
// collector stops the world by waiting for every goroutine to reach a safe
// point, code running in wazero never does, so while a call runs a
// stop-the-world waits for it, the timer goroutine included. Fuel is checked
// by the rule's own code and bounds every call.
const FuelPerMillisecond = 600_000

// initTimeFactor is how many times Limits.Time an instance may spend in its
// start function and _initialize, which for a Go reactor is the Go runtime's
// initialization. It is paid once per instance, not per call.
const initTimeFactor = 40

// minInitTime is the least time _initialize gets, whatever Limits.Time says.
const minInitTime = 2 * time.Second

// startFuel is the fuel a start function runs on (it runs inside
// instantiation, before the host can set anything): about two seconds' worth.
// It is the same for every rule so that the metered binary, and so its
// compilation cache entry, does not depend on the limits. A Go reactor's
// _initialize, for comparison, spends about 20,000 units.
const startFuel = 2000 * FuelPerMillisecond

// stackBudget is the stack units a call may hold at once: a frame takes one
// unit plus one per four params and locals, so this is 32768 nested calls of
// a small function. Deeper recursion traps before wazero's native stack, which
// it grows by copying, gets large (it would let it reach 400 MB).
const stackBudget = 32 << 10

// Limits bound each call of a rule. Zero fields take the defaults.
type Limits struct {
	// Time is the wall-clock limit of a call and the basis of its fuel
	// budget (FuelPerMillisecond units per millisecond). Default 50ms.
	Time time.Duration
	// MemoryPages is the most 64 KiB pages the rule's memory may have.
	// Default 256 (16 MiB); at most 65536.
	MemoryPages uint32
	// MaxOutput is the longest output, in bytes, a call may return.
	// Default 1 MiB.
	MaxOutput int
}

func (l Limits) withDefaults() (Limits, error) {
	if l.Time < 0 || l.MaxOutput < 0 {
		return l, fmt.Errorf("negative limit in %+v", l)
	}
	if l.MemoryPages > 65536 {
		return l, fmt.Errorf("memory limit of %d pages is over 65536 (4 GiB)", l.MemoryPages)
	}
	if l.Time == 0 {
		l.Time = DefaultTime
	}
	if l.MemoryPages == 0 {
		l.MemoryPages = DefaultMemoryPages
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	return l, nil
}

// fuelFor returns the fuel budget of d, at least 1.
func fuelFor(d time.Duration, perMS int64) int64 {
	const most = math.MaxInt64 / 4 // far from overflow when the guest counts down
	ms := int64(d / time.Millisecond)
	if perMS <= 0 || ms >= most/perMS {
		return most
	}
	f := ms*perMS + int64(d%time.Millisecond)*perMS/int64(time.Millisecond)
	return max(f, 1)
}

// backstop is when the wall clock stops a call. Fuel, calibrated to Time,
// is what stops a runaway rule; the clock only catches what fuel cannot
// see (a long bulk-memory operation). It allows twice the limit plus 50 ms,
// because a loaded host can stall a well-behaved call past its limit
// (garbage collection, a busy core), and failing callbacks for that would
// punish the tenant for the gateway's load.
func (l Limits) backstop() time.Duration {
	return 2*l.Time + 50*time.Millisecond
}

// initTime returns the time an instance's initialization may take.
func (l Limits) initTime() time.Duration {
	return max(minInitTime, initTimeFactor*l.Time)
}

type timeKey struct{}

// WithTime returns ctx carrying a time limit for the rule calls made with
// it, in place of the rule's own (a tenant's limit). The fuel budget
// follows the time. Zero or negative keeps the rule's limit.
func WithTime(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, timeKey{}, d)
}

type outputKey struct{}

// WithMaxOutput returns ctx carrying an output limit, in bytes, for the
// rule calls made with it (a tenant's limit). It only ever lowers the
// rule's own limit; zero or negative keeps it.
func WithMaxOutput(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, outputKey{}, n)
}
