package ruleruntime

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"
)

// Export names of the ABI, and of the globals the meter adds.
const (
	exportMemory   = "memory"
	exportAlloc    = "callgate_v1_alloc"
	exportRoute    = "callgate_v1_route"
	exportClassify = "callgate_v1_classify"
	exportInit     = "_initialize"
	exportFuel     = "callgate_v1_fuel"
	exportFloor    = "callgate_v1_fuel_floor"
	exportStack    = "callgate_v1_stack"
	exportGrow     = "callgate_v1_grow"
)

// instance is one module instance of a rule. It serves one call at a time;
// the pool hands it to one goroutine, and only the watchdog touches it from
// another, under mu.
type instance struct {
	rule *Rule
	mod  api.Module
	mem  api.Memory

	alloc, route, classify api.Function
	fuel, floor, grow      api.MutableGlobal // nil when not metered
	stack                  api.Global
	args                   [2]uint64 // CallWithStack's params and results

	logs           logBuffer
	stdout, stderr lineWriter

	timer *time.Timer // the wall-clock backstop, reused by every call

	// The running call's (or _initialize's) budget and time limit.
	budget int64
	limit  time.Duration

	mu       sync.Mutex
	active   bool      // a call is running
	seq      uint64    // counts calls, so a late cancellation cannot hit the next one
	deadline time.Time // of the running call
	expired  bool      // the wall clock ran out
	canceled error     // the caller's context ended
}

// newInstance instantiates the rule and runs _initialize, if exported.
func (r *Rule) newInstance(ctx context.Context) (*instance, error) {
	in := &instance{rule: r}
	in.stdout = lineWriter{logs: &in.logs, level: slog.LevelInfo}
	in.stderr = lineWriter{logs: &in.logs, level: slog.LevelWarn}
	// No FS, preopens, env or args: the zero ModuleConfig has none. Clocks
	// are real (now_ms is anyway); sleeping returns at once.
	cfg := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions().
		WithStdout(&in.stdout).
		WithStderr(&in.stderr).
		WithRandSource(rand.Reader).
		WithSysWalltime().
		WithSysNanotime()
	mod, err := r.engine.InstantiateModule(experimental.WithMemoryAllocator(ctx, doublingAllocator{}), r.compiled, cfg)
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	in.mod = mod
	in.mem = mod.ExportedMemory(exportMemory)
	in.alloc = mod.ExportedFunction(exportAlloc)
	in.route = mod.ExportedFunction(exportRoute)
	in.classify = mod.ExportedFunction(exportClassify)
	if r.metered {
		in.fuel = mod.ExportedGlobal(exportFuel).(api.MutableGlobal)
		in.floor = mod.ExportedGlobal(exportFloor).(api.MutableGlobal)
		in.grow = mod.ExportedGlobal(exportGrow).(api.MutableGlobal)
		in.stack = mod.ExportedGlobal(exportStack)
	}
	in.timer = time.AfterFunc(time.Hour, in.tick)
	in.timer.Stop()
	r.rt.callers.Store(mod, in)

	if init := mod.ExportedFunction(exportInit); init != nil {
		in.prepare(fuelFor(r.lim.initTime(), r.rt.fuelPerMS()), r.lim.initTime())
		stop := in.arm(ctx, time.Now().Add(in.limit))
		err := init.CallWithStack(ctx, in.args[:])
		in.disarm(stop)
		in.forward(ctx, in.takeLogs())
		if err != nil {
			err = in.failure(ctx, err)
			in.close(ctx)
			return nil, fmt.Errorf("%s: %w", exportInit, err)
		}
	}
	r.created.Add(1)
	return in, nil
}

// close closes the module. The watchdog may still fire once; it finds
// nothing active.
func (in *instance) close(ctx context.Context) {
	in.timer.Stop()
	in.rule.rt.callers.Delete(in.mod)
	_ = in.mod.Close(ctx)
}

// prepare sets the fuel and limit of the next run.
func (in *instance) prepare(budget int64, limit time.Duration) {
	in.budget, in.limit = budget, limit
	if in.fuel != nil {
		in.fuel.Set(uint64(budget))
		in.grow.Set(0)
	}
}

// call runs fn (route or classify) on input. Its errors wrap a sentinel and
// are not prefixed with the rule.
func (in *instance) call(ctx context.Context, fn api.Function, input []byte) (Result, error) {
	r := in.rule
	start := time.Now()
	lim, fuel := r.lim, r.fuel
	if d, ok := ctx.Value(timeKey{}).(time.Duration); ok && d > 0 && d != lim.Time {
		// A tenant with a time limit of its own: the budget follows it.
		lim.Time, fuel = d, fuelFor(d, r.rt.fuelPerMS())
	}
	if n, ok := ctx.Value(outputKey{}).(int); ok && n > 0 && n < lim.MaxOutput {
		lim.MaxOutput = n
	}
	in.prepare(fuel, lim.Time)
	var out []byte
	var err error
	if r.rt.tune.closeOnContextDone {
		// wazero interrupts the call itself when ctx is done (benchmarks).
		cctx, cancel := context.WithTimeout(ctx, lim.Time)
		out, err = in.exchange(cctx, fn, input, lim.MaxOutput)
		cancel()
	} else {
		deadline := start.Add(lim.backstop())
		if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
			deadline = d
		}
		stop := in.arm(ctx, deadline)
		out, err = in.exchange(ctx, fn, input, lim.MaxOutput)
		in.disarm(stop)
	}

	res := Result{Output: out, Duration: time.Since(start), Logs: in.takeLogs()}
	if in.fuel != nil {
		left := int64(in.fuel.Get())
		res.Fuel = uint64(in.budget - max(left, 0))
	}
	in.forward(ctx, res.Logs)
	if err != nil {
		return res, in.failure(ctx, err)
	}
	return res, nil
}

// exchange writes input into the instance, calls fn and copies its output.
func (in *instance) exchange(ctx context.Context, fn api.Function, input []byte, maxOutput int) ([]byte, error) {
	r := in.rule
	var ptr uint32
	if len(input) > 0 {
		if uint64(len(input)) > uint64(r.lim.MemoryPages)*65536 {
			return nil, fmt.Errorf("%w: input of %d bytes is larger than the memory limit", ErrMemory, len(input))
		}
		in.args[0] = uint64(len(input))
		if err := in.alloc.CallWithStack(ctx, in.args[:]); err != nil {
			return nil, fmt.Errorf("%s: %w", exportAlloc, err)
		}
		ptr = uint32(in.args[0])
		if ptr == 0 {
			return nil, fmt.Errorf("%w: %s(%d) returned 0", ErrMemory, exportAlloc, len(input))
		}
		if !in.mem.Write(ptr, input) {
			return nil, fmt.Errorf("%w: %s(%d) returned %d, past the %d bytes of memory", ErrBadPointer, exportAlloc, len(input), ptr, in.mem.Size())
		}
	}
	in.args[0], in.args[1] = uint64(ptr), uint64(len(input))
	if err := fn.CallWithStack(ctx, in.args[:]); err != nil {
		return nil, err
	}
	optr, olen := uint32(in.args[0]>>32), uint32(in.args[0])
	if int64(olen) > int64(maxOutput) {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrOutputTooLarge, olen, maxOutput)
	}
	view, ok := in.mem.Read(optr, olen)
	if !ok {
		return nil, fmt.Errorf("%w: output at %d+%d, past the %d bytes of memory", ErrBadPointer, optr, olen, in.mem.Size())
	}
	return append(make([]byte, 0, len(view)), view...), nil
}

// takeLogs ends any partial stdout and stderr lines and returns the call's
// lines.
func (in *instance) takeLogs() []LogLine {
	in.stdout.flush()
	in.stderr.flush()
	return in.logs.take()
}

// forward sends a call's lines to the runtime's logger at debug level.
func (in *instance) forward(ctx context.Context, lines []LogLine) {
	logger := in.rule.rt.logger
	if len(lines) == 0 || !logger.Enabled(ctx, slog.LevelDebug) {
		return
	}
	for _, l := range lines {
		logger.LogAttrs(ctx, slog.LevelDebug, l.Text, slog.String("rule", in.rule.name), slog.String("rule_level", l.Level.String()))
	}
}

// failure turns what a failed run returned into an error wrapping one
// sentinel. The instance's globals tell a spent budget from other traps.
func (in *instance) failure(ctx context.Context, err error) error {
	in.mu.Lock()
	expired, canceled := in.expired, in.canceled
	in.mu.Unlock()

	var exit *sys.ExitError
	isExit := errors.As(err, &exit)
	switch {
	case canceled != nil:
		return fmt.Errorf("call abandoned: %w", canceled)
	case expired:
		return fmt.Errorf("%w: wall-clock limit of %v, or the caller's deadline, passed", ErrTimeout, in.limit)
	case in.fuel != nil && int64(in.fuel.Get()) < 0:
		return fmt.Errorf("%w: fuel budget of %d units spent (%v)", ErrTimeout, in.budget, err)
	case isExit && exit.ExitCode() == sys.ExitCodeDeadlineExceeded:
		return fmt.Errorf("%w: deadline of %v passed", ErrTimeout, in.limit)
	case isExit && exit.ExitCode() == sys.ExitCodeContextCanceled:
		return fmt.Errorf("call abandoned: %w", context.Cause(ctx))
	case errors.Is(err, ErrBadPointer) || errors.Is(err, ErrOutputTooLarge) || errors.Is(err, ErrMemory):
		return err
	case in.stack != nil && int32(in.stack.Get()) < 0:
		return fmt.Errorf("%w: call stack exhausted: recursion too deep (%v)", ErrTrap, err)
	case in.grow != nil && int32(in.grow.Get()) == -1:
		return fmt.Errorf("%w: memory.grow failed at the limit of %d pages (%v)", ErrMemory, in.rule.lim.MemoryPages, err)
	case isExit:
		return fmt.Errorf("%w: exited with code %d", ErrTrap, exit.ExitCode())
	}
	return fmt.Errorf("%w: %v", ErrTrap, err)
}

// arm starts the wall-clock backstop of a call that must end by deadline,
// and the cancellation of ctx. The returned func, if any, stops the latter.
func (in *instance) arm(ctx context.Context, deadline time.Time) (stop func() bool) {
	in.mu.Lock()
	in.seq++
	seq := in.seq
	in.active, in.expired, in.canceled = true, false, nil
	in.deadline = deadline
	in.timer.Reset(time.Until(deadline))
	in.mu.Unlock()
	if ctx.Done() == nil {
		return nil
	}
	return context.AfterFunc(ctx, func() { in.interrupt(seq, ctx) })
}

// disarm ends what arm started. After it the watchdog changes nothing. A
// call may have returned just as the watchdog raised the floor: the floor is
// lowered again, so that the instance serves its next call.
func (in *instance) disarm(stop func() bool) {
	if stop != nil {
		stop()
	}
	in.mu.Lock()
	in.active = false
	in.timer.Stop()
	if (in.expired || in.canceled != nil) && in.floor != nil {
		in.floor.Set(0)
	}
	in.mu.Unlock()
}

// tick is the timer's func: past the deadline it stops the guest.
func (in *instance) tick() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.active || in.expired || in.canceled != nil {
		return
	}
	if left := time.Until(in.deadline); left > 0 {
		in.timer.Reset(left) // a timer left over from an earlier call
		return
	}
	in.expired = true
	in.stopGuest()
}

// interrupt stops call seq because its context ended.
func (in *instance) interrupt(seq uint64, ctx context.Context) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.active || in.seq != seq || in.expired || in.canceled != nil {
		return
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		in.expired = true
	} else {
		in.canceled = context.Cause(ctx)
	}
	in.stopGuest()
}

// stopGuest raises the fuel floor above any fuel, so the guest traps at its
// next function entry or loop header. The guest never writes the floor, so
// one write is enough; the instance is discarded after the call. Without
// metering it cannot stop anything.
func (in *instance) stopGuest() {
	if in.floor != nil {
		in.floor.Set(math.MaxInt64)
	}
}
