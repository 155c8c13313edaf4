package ruleruntime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Options configure a Runtime.
type Options struct {
	// CacheDir holds wazero's compilation cache on disk, so that a restart
	// does not compile every rule again. Empty keeps the cache in memory.
	CacheDir string
	// Logger receives the rules' log lines at debug level, with the rule's
	// name. Nil discards them.
	Logger *slog.Logger

	// tuning is set by tests and benchmarks only (export_test.go).
	tuning *tuning
}

// tuning holds what benchmarks compare; production uses the zero value's
// meaning: metering on, no WithCloseOnContextDone.
type tuning struct {
	noMeter            bool  // run modules as uploaded (no fuel, no stack budget)
	closeOnContextDone bool  // wazero's own interruption, with a ctx deadline per call
	fuelPerMS          int64 // overrides FuelPerMillisecond when > 0
}

// Runtime compiles rules and owns everything they run on: one wazero runtime
// per memory limit, the host modules, and the compilation cache. It is safe
// for concurrent use.
type Runtime struct {
	logger *slog.Logger
	tune   tuning
	cache  wazero.CompilationCache

	// callers maps a running module to its instance, for host functions.
	callers sync.Map // api.Module -> *instance

	mu      sync.Mutex
	closed  bool
	engines map[uint32]wazero.Runtime // by memory limit in pages
	rules   map[*Rule]struct{}
}

// New returns a Runtime. Close it to release its compiled code and instances.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	r := &Runtime{
		logger:  opts.Logger,
		engines: map[uint32]wazero.Runtime{},
		rules:   map[*Rule]struct{}{},
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if opts.tuning != nil {
		r.tune = *opts.tuning
	}
	if opts.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(opts.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("ruleruntime: open compilation cache: %w", err)
		}
		r.cache = cache
	} else {
		r.cache = wazero.NewCompilationCache()
	}
	return r, nil
}

func (r *Runtime) fuelPerMS() int64 {
	if r.tune.fuelPerMS > 0 {
		return r.tune.fuelPerMS
	}
	return FuelPerMillisecond
}

// engine returns the wazero runtime for a memory limit, making it the first
// time: wazero applies the limit per runtime, when a module is compiled.
func (r *Runtime) engine(ctx context.Context, pages uint32) (wazero.Runtime, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrClosed
	}
	if rt, ok := r.engines[pages]; ok {
		return rt, nil
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(r.cache).
		WithMemoryLimitPages(pages).
		WithDebugInfoEnabled(false). // DWARF is dropped by the meter anyway
		WithCloseOnContextDone(r.tune.closeOnContextDone)
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if err := r.instantiateHost(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		return nil, err
	}
	r.engines[pages] = rt
	return rt, nil
}

// instantiateHost gives rt the modules rules may import.
func (r *Runtime) instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	_, err := rt.NewHostModuleBuilder(hostModule).
		NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(r.hostLog), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32, api.ValueTypeI32}, nil).
		WithParameterNames("level", "ptr", "len").
		Export("log").
		NewFunctionBuilder().
		WithGoFunction(api.GoFunc(hostNowMS), nil, []api.ValueType{api.ValueTypeI64}).
		Export("now_ms").
		Instantiate(ctx)
	if err != nil {
		return fmt.Errorf("ruleruntime: instantiate %s: %w", hostModule, err)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fmt.Errorf("ruleruntime: instantiate WASI: %w", err)
	}
	return nil
}

// Close closes every rule and instance and the wazero runtimes. It does not
// wait for calls in flight: they end within their limits, then their
// instances are closed.
func (r *Runtime) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	rules := make([]*Rule, 0, len(r.rules))
	for rule := range r.rules {
		rules = append(rules, rule)
	}
	engines := r.engines
	r.engines = nil
	r.mu.Unlock()

	var errs []error
	for _, rule := range rules {
		errs = append(errs, rule.Close(ctx))
	}
	for _, rt := range engines {
		errs = append(errs, rt.Close(ctx))
	}
	errs = append(errs, r.cache.Close(ctx))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("ruleruntime: close: %w", err)
	}
	return nil
}

func (r *Runtime) addRule(rule *Rule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	r.rules[rule] = struct{}{}
	return nil
}

func (r *Runtime) removeRule(rule *Rule) {
	r.mu.Lock()
	delete(r.rules, rule)
	r.mu.Unlock()
}
