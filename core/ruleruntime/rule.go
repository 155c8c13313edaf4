package ruleruntime

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/tetratelabs/wazero"

	"github.com/callgate/callgate/core/ruleruntime/internal/meter"
)

// Result is what one call of a rule produced.
type Result struct {
	// Output is the rule's answer, copied out of its memory.
	Output []byte
	// Logs are the lines the rule logged, at most 100 of at most 1 KiB each,
	// then one line saying how many more were dropped. A failed call returns
	// them too.
	Logs []LogLine
	// Duration is the wall-clock time of the call, writing the input and
	// copying the output included.
	Duration time.Duration
	// Fuel is the fuel the call used (0 when metering is off).
	Fuel uint64
}

// Rule is a compiled rule and its pool of instances. Its methods are safe
// for concurrent use; each call gets an instance of its own.
type Rule struct {
	name        string
	rt          *Runtime
	engine      wazero.Runtime
	compiled    wazero.CompiledModule
	lim         Limits
	fuel        int64 // budget of one call
	metered     bool
	hasClassify bool

	pool               chan *instance // idle instances
	slots              chan struct{}  // one token per live instance, up to the bound
	closed             atomic.Bool
	created, discarded atomic.Int64
}

// Compile checks, meters and compiles a rule module, and starts its first
// instance (which runs _initialize), so that a module that cannot start is
// refused here rather than on its first callback. name labels the rule in
// errors and logs. Errors about the module wrap ErrInvalidModule.
func (r *Runtime) Compile(ctx context.Context, name string, wasm []byte, lim Limits) (*Rule, error) {
	lim, err := lim.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("ruleruntime: rule %q: %w", name, err)
	}
	invalid := func(err error) error {
		return fmt.Errorf("ruleruntime: rule %q: %w: %w", name, ErrInvalidModule, err)
	}
	fuel := fuelFor(lim.Time, r.fuelPerMS())
	m, err := meter.Instrument(wasm, meter.Config{
		FuelExport:  exportFuel,
		FloorExport: exportFloor,
		StackExport: exportStack,
		GrowExport:  exportGrow,
		InitialFuel: startFuel, // a constant, so that limits do not change the binary
		StackBudget: stackBudget,
	})
	if err != nil {
		return nil, invalid(err)
	}
	if err := checkImports(m.Imports); err != nil {
		return nil, invalid(err)
	}
	bin := m.Wasm
	if r.tune.noMeter {
		bin = wasm
	}
	engine, err := r.engine(ctx, lim.MemoryPages)
	if err != nil {
		return nil, fmt.Errorf("ruleruntime: rule %q: %w", name, err)
	}
	compiled, err := engine.CompileModule(ctx, bin)
	if err != nil {
		return nil, invalid(err)
	}
	if err := checkExports(compiled); err != nil {
		_ = compiled.Close(ctx)
		return nil, invalid(err)
	}
	// As many instances as calls can run at once: a call runs on its
	// goroutine to the end, so more than one per processor only holds
	// memory (several MB for a Go module) without running more.
	size := runtime.GOMAXPROCS(0)
	rule := &Rule{
		name:        name,
		rt:          r,
		engine:      engine,
		compiled:    compiled,
		lim:         lim,
		fuel:        fuel,
		metered:     !r.tune.noMeter,
		hasClassify: compiled.ExportedFunctions()[exportClassify] != nil,
		pool:        make(chan *instance, size),
		slots:       make(chan struct{}, size),
	}
	rule.slots <- struct{}{}
	in, err := rule.newInstance(ctx)
	if err != nil {
		_ = compiled.Close(ctx)
		return nil, invalid(fmt.Errorf("first instance: %w", err))
	}
	rule.pool <- in
	if err := r.addRule(rule); err != nil {
		_ = rule.Close(ctx)
		return nil, err
	}
	return rule, nil
}

// Name returns the name the rule was compiled with.
func (r *Rule) Name() string { return r.name }

// Limits returns the rule's limits, defaults applied.
func (r *Rule) Limits() Limits { return r.lim }

// HasClassify reports whether the rule exports callgate_v1_classify.
func (r *Rule) HasClassify() bool { return r.hasClassify }

// Route calls callgate_v1_route with input (the route input JSON) and returns
// the decision the rule wrote. The input is written where callgate_v1_alloc
// says; an empty input is passed as (0, 0) without calling it.
func (r *Rule) Route(ctx context.Context, input []byte) (Result, error) {
	return r.call(ctx, false, input)
}

// Classify calls callgate_v1_classify with input (a receiver's answer) and
// returns the verdict the rule wrote. It returns ErrNoClassify when the rule
// has no such export.
func (r *Rule) Classify(ctx context.Context, input []byte) (Result, error) {
	if !r.hasClassify {
		return Result{}, fmt.Errorf("ruleruntime: rule %q: %w", r.name, ErrNoClassify)
	}
	return r.call(ctx, true, input)
}

func (r *Rule) call(ctx context.Context, classify bool, input []byte) (Result, error) {
	in, err := r.acquire(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("ruleruntime: rule %q: %w", r.name, err)
	}
	fn := in.route
	if classify {
		fn = in.classify
	}
	res, err := in.call(ctx, fn, input)
	if err != nil {
		r.discard(ctx, in) // a trapped instance may be corrupt
		return res, fmt.Errorf("ruleruntime: rule %q: %w", r.name, err)
	}
	r.release(ctx, in)
	return res, nil
}

// acquire takes an idle instance, makes one while under the bound, or waits
// for one until ctx ends.
func (r *Rule) acquire(ctx context.Context) (*instance, error) {
	if r.closed.Load() {
		return nil, ErrClosed
	}
	select {
	case in := <-r.pool:
		return in, nil
	default:
	}
	select {
	case in := <-r.pool:
		return in, nil
	case r.slots <- struct{}{}:
		in, err := r.newInstance(ctx)
		if err != nil {
			<-r.slots
			if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrMemory) && !errors.Is(err, ErrTrap) {
				err = fmt.Errorf("%w: %w", ErrTrap, err) // it started at Compile, so this is unexpected
			}
			return nil, fmt.Errorf("new instance: %w", err)
		}
		return in, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for an instance: %w", context.Cause(ctx))
	}
}

// release puts an instance back in the pool, or closes it if the rule was
// closed meanwhile.
func (r *Rule) release(ctx context.Context, in *instance) {
	r.pool <- in // never blocks: the pool holds as many as there are slots
	if r.closed.Load() {
		r.drain(ctx)
	}
}

// discard closes an instance and frees its slot.
func (r *Rule) discard(ctx context.Context, in *instance) {
	in.close(ctx)
	r.discarded.Add(1)
	<-r.slots
}

func (r *Rule) drain(ctx context.Context) {
	for {
		select {
		case in := <-r.pool:
			in.close(ctx)
			<-r.slots
		default:
			return
		}
	}
}

// Close closes the rule's idle instances and its compiled code. Calls in
// flight finish, and their instances are closed when they end; later calls
// fail with ErrClosed.
func (r *Rule) Close(ctx context.Context) error {
	if r.closed.Swap(true) {
		return nil
	}
	r.drain(ctx)
	r.rt.removeRule(r)
	if err := r.compiled.Close(ctx); err != nil {
		return fmt.Errorf("ruleruntime: rule %q: close: %w", r.name, err)
	}
	return nil
}
