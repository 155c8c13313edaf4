// Package ruleset runs callbacks through their tenants' rules: it finds the
// rule a callback names (the tenant's own active version, else a built-in
// one), keeps each module compiled once, and turns the rule's JSON answers
// into routing decisions and verdicts on receivers' answers. It implements
// route.Router and the dispatcher's Classifier.
package ruleset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/ruleruntime"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// RuleError is the stable code of a rule that failed instead of deciding.
const RuleError = "FailedOperation.RuleError"

// Store is what the set needs of the store.
type Store interface {
	ActiveRuleRef(ctx context.Context, tenantID, code string) (store.RuleVersion, error)
	RuleModule(ctx context.Context, tenantID, code string, version int) ([]byte, error)
}

// Options configure a Set.
type Options struct {
	// CacheDir keeps compiled modules across restarts ("" = memory only).
	CacheDir string
	// Limits per call; zero fields take the runtime's defaults.
	Limits ruleruntime.Limits
	// Builtin are the rules every tenant may use, by code.
	Builtin map[string][]byte
	// Eager names the built-in rules compiled at start, before the set is
	// ready (nil: all of them). The others are compiled on first use: a
	// compiled Go module holds about 20 MB, which a gateway that never
	// uses the rule should not pay.
	Eager   []string
	Metrics *metrics.Metrics
	// Tenant, when set, gives a tenant's own limits; zero fields take
	// Limits. Time and output bound every call made for the tenant; memory
	// bounds the tenant's own modules only (the built-in rules are shared).
	Tenant func(tenantID string) TenantLimits
}

// TenantLimits are one tenant's rule limits; zero fields take the set's.
type TenantLimits struct {
	Time        time.Duration
	MemoryPages uint32
	MaxOutput   int
}

// Set is the rules of every tenant. It is safe for concurrent use.
type Set struct {
	rt      *ruleruntime.Runtime
	store   Store
	log     *slog.Logger
	opts    Options
	builtin map[string]*lazyRule
	ready   atomic.Bool
	closing atomic.Bool
	warming sync.WaitGroup

	mu       sync.Mutex
	compiled map[string]*lazyRule // by moduleKey: tenants' uploads
	tick     int64                // use counter for evicting the least recently used
	active   sync.Map             // tenant\x00code -> activeRef
	// invalidations counts Invalidate calls, under mu. A lookup remembers
	// what it read from the store only if no Invalidate came in between:
	// otherwise a lookup that read the old version just before a change
	// could store it just after Invalidate, and keep it until the next one.
	invalidations uint64
}

// lazyRule compiles a module on first use, once.
type lazyRule struct {
	used int64 // s.tick at the last use, under s.mu
	once sync.Once
	name string
	sha  string
	// classifies is whether a built-in module exports classify, read from
	// its exports so that listing rules compiles nothing.
	classifies bool
	compiled   atomic.Bool // set once compiled
	key        string      // in s.compiled: sha, and the memory limit when not the set's
	mem        uint32      // memory limit in pages; 0: the set's
	wasm       []byte
	load       func(context.Context) ([]byte, error) // when wasm is not at hand
	rule       *ruleruntime.Rule
	err        error
}

type activeRef struct {
	found   bool
	version int
	sha     string
}

// New makes a Set and starts compiling the built-in rules in the
// background (Ready says when they are done).
func New(ctx context.Context, s Store, log *slog.Logger, opts Options) (*Set, error) {
	rt, err := ruleruntime.New(ctx, ruleruntime.Options{CacheDir: opts.CacheDir, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start rule runtime: %w", err)
	}
	set := &Set{rt: rt, store: s, log: log, opts: opts,
		builtin: map[string]*lazyRule{}, compiled: map[string]*lazyRule{}}
	for code, wasm := range opts.Builtin {
		classifies, err := ruleruntime.Classifies(wasm)
		if err != nil {
			return nil, fmt.Errorf("built-in rule %q: %w", code, err)
		}
		set.builtin[code] = &lazyRule{name: "builtin:" + code, wasm: wasm, sha: shaOf(wasm), classifies: classifies}
	}
	set.warming.Add(1)
	go set.warm(context.WithoutCancel(ctx))
	return set, nil
}

func (s *Set) warm(ctx context.Context) {
	defer s.warming.Done()
	start := time.Now()
	failed, eager := 0, s.eager()
	for code, l := range eager {
		if s.closing.Load() {
			return
		}
		if _, err := s.compile(ctx, l); err != nil {
			failed++
			s.log.Error("built-in rule does not compile", "rule", code, "error", err)
		}
	}
	if failed > 0 {
		// Every callback naming such a rule would fail: the set is not ready,
		// so that the gateway does not say it is either.
		s.log.Error("the set of rules is not ready: built-in rules do not compile", "failed", failed, "count", len(eager))
		return
	}
	s.ready.Store(true)
	s.log.Info("built-in rules compiled", "count", len(eager), "took", time.Since(start).Round(time.Millisecond))
}

// eager returns the built-in rules to compile at start.
func (s *Set) eager() map[string]*lazyRule {
	if s.opts.Eager == nil {
		return s.builtin
	}
	out := map[string]*lazyRule{}
	for _, code := range s.opts.Eager {
		if l, ok := s.builtin[code]; ok {
			out[code] = l
		}
	}
	return out
}

// Ready reports whether the built-in rules are compiled. It stays false
// when one of them does not compile (with limits too small for it, for
// instance).
func (s *Set) Ready() bool { return s.ready.Load() }

// Close frees every compiled rule, once the background compilation has
// stopped (a module being compiled is finished first).
func (s *Set) Close(ctx context.Context) error {
	s.closing.Store(true)
	s.warming.Wait()
	return s.rt.Close(ctx)
}

// Builtins lists the built-in rule codes with their modules' SHA-256.
func (s *Set) Builtins() map[string]string {
	out := make(map[string]string, len(s.builtin))
	for code, l := range s.builtin {
		out[code] = l.sha
	}
	return out
}

// BuiltinClassifies reports whether a built-in rule judges answers; false
// when the rule is unknown.
func (s *Set) BuiltinClassifies(ctx context.Context, code string) bool {
	l, ok := s.builtin[code]
	return ok && l.classifies
}

func (s *Set) compile(ctx context.Context, l *lazyRule) (*ruleruntime.Rule, error) {
	l.once.Do(func() {
		wasm := l.wasm
		if wasm == nil && l.load != nil {
			if wasm, l.err = l.load(ctx); l.err != nil {
				return
			}
		}
		lim := s.opts.Limits
		if l.mem != 0 {
			lim.MemoryPages = l.mem
		}
		l.rule, l.err = s.rt.Compile(ctx, l.name, wasm, lim)
		l.compiled.Store(l.err == nil)
		l.wasm, l.load = nil, nil // compiled: the bytes are no longer needed
	})
	return l.rule, l.err
}

func shaOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Invalidate forgets which version of a tenant's rule is active; call it
// after the rule changed.
func (s *Set) Invalidate(tenantID, code string) {
	s.mu.Lock()
	s.invalidations++
	s.active.Delete(tenantID + "\x00" + code)
	s.mu.Unlock()
}

// resolved is the rule a callback runs.
type resolved struct {
	rule    *ruleruntime.Rule
	version int // 0 for built-in rules
}

// resolve finds the tenant's active version of code, else the built-in
// rule, else route.ErrUnknownRule.
func (s *Set) resolve(ctx context.Context, tenantID, code string) (resolved, error) {
	activeKey := tenantID + "\x00" + code
	var ref activeRef
	if v, ok := s.active.Load(activeKey); ok {
		ref = v.(activeRef)
	} else {
		s.mu.Lock()
		seen := s.invalidations
		s.mu.Unlock()
		rv, err := s.store.ActiveRuleRef(ctx, tenantID, code)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return resolved{}, apierr.Internal(err)
		default:
			ref = activeRef{found: true, version: rv.Version, sha: rv.SHA256}
		}
		s.mu.Lock()
		if s.invalidations == seen {
			s.active.Store(activeKey, ref)
		}
		s.mu.Unlock()
	}
	if !ref.found {
		l, ok := s.builtin[code]
		if !ok {
			return resolved{}, fmt.Errorf("rule %q: %w", code, route.ErrUnknownRule)
		}
		r, err := s.compile(ctx, l)
		if err != nil {
			return resolved{}, apierr.Internal(fmt.Errorf("compile built-in rule %q: %w", code, err))
		}
		return resolved{rule: r}, nil
	}
	version := ref.version
	mem := s.tenantLimits(tenantID).MemoryPages
	key := moduleKey(ref.sha, mem)
	l := s.use(key, func() *lazyRule {
		return &lazyRule{name: fmt.Sprintf("%s:%s@%d", tenantID, code, version), sha: ref.sha, key: key, mem: mem,
			load: func(ctx context.Context) ([]byte, error) {
				return s.store.RuleModule(ctx, tenantID, code, version)
			}}
	})
	r, err := s.compile(ctx, l)
	if err != nil {
		s.forget(key, l) // a failed load or compile is tried again next time
		return resolved{}, apierr.New(RuleError, "rule %q version %d cannot run: %v", code, ref.version, err)
	}
	return resolved{rule: r, version: ref.version}, nil
}

// Route implements route.Router.
func (s *Set) Route(ctx context.Context, in route.Input) (route.Decision, error) {
	ctx = s.tenantCall(ctx, in.TenantID)
	res, err := s.resolve(ctx, in.TenantID, in.Rule)
	if err != nil {
		return route.Decision{}, err
	}
	raw, _, _, err := s.run(ctx, res.rule, in)
	if errors.Is(err, ruleruntime.ErrClosed) {
		// Evicted between the lookup and the call: look it up again.
		if res, err = s.resolve(ctx, in.TenantID, in.Rule); err != nil {
			return route.Decision{}, err
		}
		raw, _, _, err = s.run(ctx, res.rule, in)
	}
	if err != nil {
		return route.Decision{}, err
	}
	dec, err := decodeDecision(raw, in.Configs)
	if err != nil {
		return route.Decision{}, apierr.New(RuleError, "rule %q answered a bad decision: %v", in.Rule, err)
	}
	return dec, nil
}

// run calls a rule's route export and maps its failures to RuleError.
func (s *Set) run(ctx context.Context, r *ruleruntime.Rule, in route.Input) ([]byte, []ruleruntime.LogLine, time.Duration, error) {
	input, err := encodeInput(in)
	if err != nil {
		return nil, nil, 0, apierr.Internal(err)
	}
	res, err := r.Route(ctx, input)
	s.opts.Metrics.RuleCall("route", res.Duration, err != nil)
	if err != nil {
		return nil, res.Logs, res.Duration, ruleFailure(in.Rule, err)
	}
	return res.Output, res.Logs, res.Duration, nil
}

// ruleFailure describes a failed rule call for its tenant.
func ruleFailure(code string, err error) error {
	var what string
	switch {
	case errors.Is(err, ruleruntime.ErrTimeout):
		what = "ran out of time"
	case errors.Is(err, ruleruntime.ErrMemory):
		what = "ran out of memory"
	case errors.Is(err, ruleruntime.ErrOutputTooLarge):
		what = "answered more than the output limit"
	case errors.Is(err, ruleruntime.ErrBadPointer):
		what = "answered a pointer outside its memory"
	case errors.Is(err, ruleruntime.ErrTrap):
		// The first line says what the trap was; the Wasm stack trace
		// after it is for the gateway's log, not the tenant's answer.
		msg, _, _ := strings.Cut(err.Error(), "\n")
		if i := strings.LastIndex(msg, "wasm error: "); i >= 0 {
			msg = msg[i+len("wasm error: "):]
		}
		what = "trapped: " + msg
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return apierr.New(apierr.ServiceUnavailable, "the request ended before rule %q answered", code)
	default:
		return apierr.Internal(fmt.Errorf("rule %q: %w", code, err))
	}
	return apierr.New(RuleError, "rule %q %s", code, what)
}

// Classify implements the dispatcher's Classifier: the delivery's rule
// judges the receiver's answer, when it exports classify.
func (s *Set) Classify(ctx context.Context, d store.Delivery, out *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
	ctx = s.tenantCall(ctx, d.TenantID)
	res, err := s.resolve(ctx, d.TenantID, d.Rule)
	if err != nil || !res.rule.HasClassify() {
		return 0, "", false, nil // a rule deleted since keeps no say
	}
	input, err := json.Marshal(classifyInput{ABI: abiVersion, Channel: d.Channel, StatusCode: out.GetStatusCode(),
		Headers: out.GetResponseHeaders(), Body: string(out.GetResponseBody())})
	if err != nil {
		return 0, "", false, fmt.Errorf("encode classify input: %w", err)
	}
	r, err := res.rule.Classify(ctx, input)
	s.opts.Metrics.RuleCall("classify", r.Duration, err != nil)
	if err != nil {
		return 0, "", false, ruleFailure(d.Rule, err)
	}
	var v verdict
	if err := json.Unmarshal(r.Output, &v); err != nil {
		return 0, "", false, fmt.Errorf("rule %q answered a bad verdict: %w", d.Rule, err)
	}
	switch v.Verdict {
	case "success":
		return pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED, v.Reason, true, nil
	case "retry":
		return pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE, v.Reason, true, nil
	case "permanent":
		return pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT, v.Reason, true, nil
	}
	return 0, "", false, fmt.Errorf("rule %q answered verdict %q", d.Rule, v.Verdict)
}

// TestResult is a dry run's outcome.
type TestResult struct {
	Decision json.RawMessage
	Logs     []ruleruntime.LogLine
	Duration time.Duration
	Version  int
}

// Test runs a tenant's rule on a callback without storing or delivering
// anything. A failing rule is reported in err (an *apierr.Error) with
// whatever it logged.
func (s *Set) Test(ctx context.Context, in route.Input) (TestResult, error) {
	ctx = s.tenantCall(ctx, in.TenantID)
	res, err := s.resolve(ctx, in.TenantID, in.Rule)
	if err != nil {
		return TestResult{}, err
	}
	raw, logs, took, err := s.run(ctx, res.rule, in)
	out := TestResult{Decision: raw, Logs: logs, Duration: took, Version: res.version}
	if err != nil {
		return out, err
	}
	if _, err := decodeDecision(raw, in.Configs); err != nil {
		return out, apierr.New(RuleError, "rule %q answered a bad decision: %v", in.Rule, err)
	}
	return out, nil
}

// Check compiles an uploaded module and runs it once on a sample callback,
// as PutRule requires before accepting it. It reports whether the module
// judges answers. The compiled rule is kept for when the version is used.
func (s *Set) Check(ctx context.Context, code string, wasm []byte, sample route.Input) (classifies bool, err error) {
	ctx = s.tenantCall(ctx, sample.TenantID)
	sha := shaOf(wasm)
	mem := s.tenantLimits(sample.TenantID).MemoryPages
	key := moduleKey(sha, mem)
	l := s.use(key, func() *lazyRule {
		return &lazyRule{name: code + ":" + sha[:12], wasm: wasm, sha: sha, key: key, mem: mem}
	})
	r, err := s.compile(ctx, l)
	if err != nil {
		s.forget(key, l)
		if errors.Is(err, ruleruntime.ErrInvalidModule) {
			return false, apierr.New(apierr.InvalidParameterValue, "the module is not a valid rule: %v", err)
		}
		return false, apierr.New(RuleError, "the module does not compile: %v", err)
	}
	raw, _, _, err := s.run(ctx, r, sample)
	if err != nil {
		return false, err
	}
	if _, err := decodeDecision(raw, sample.Configs); err != nil {
		return false, apierr.New(RuleError, "on a sample callback the rule answered a bad decision: %v", err)
	}
	return r.HasClassify(), nil
}

// MaxCompiled bounds how many tenant modules stay compiled: each holds
// compiled code and a pool of instances, so without a bound tenants could
// grow the gateway's memory by uploading versions. The least recently used
// is closed first; it is compiled again (from the disk cache) when used.
const MaxCompiled = 64

// use returns the tenant module entry for sha, made by create when there is
// none, marks it used, and closes what falls out of the cache.
func (s *Set) use(key string, create func() *lazyRule) *lazyRule {
	s.mu.Lock()
	l, ok := s.compiled[key]
	if !ok {
		l = create()
		s.compiled[key] = l
	}
	s.tick++
	l.used = s.tick
	evicted := s.evictLocked()
	s.mu.Unlock()
	s.closeAll(evicted)
	return l
}

// evictLocked removes the least recently used entries beyond MaxCompiled
// and returns them for closing outside the lock.
func (s *Set) evictLocked() []*lazyRule {
	var out []*lazyRule
	for len(s.compiled) > MaxCompiled {
		var oldest string
		for sha, l := range s.compiled {
			if oldest == "" || l.used < s.compiled[oldest].used {
				oldest = sha
			}
		}
		out = append(out, s.compiled[oldest])
		delete(s.compiled, oldest)
	}
	return out
}

// closeAll closes evicted rules; calls in flight on them finish first.
func (s *Set) closeAll(ls []*lazyRule) {
	for _, l := range ls {
		go func() {
			// An entry never compiled stays so (Do with nothing to do);
			// one being compiled is waited for, then closed.
			l.once.Do(func() { l.err = ruleruntime.ErrClosed })
			if l.rule != nil {
				l.rule.Close(context.Background())
			}
		}()
	}
}

// tenantLimits returns the tenant's own limits (zero fields: the set's).
func (s *Set) tenantLimits(tenantID string) TenantLimits {
	if s.opts.Tenant == nil || tenantID == "" {
		return TenantLimits{}
	}
	tl := s.opts.Tenant(tenantID)
	if tl.MemoryPages == s.opts.Limits.MemoryPages {
		tl.MemoryPages = 0 // the same module entry as the set's limit
	}
	return tl
}

// tenantCall puts the tenant's own time and output limits, if any, in ctx.
func (s *Set) tenantCall(ctx context.Context, tenantID string) context.Context {
	tl := s.tenantLimits(tenantID)
	if tl.Time > 0 {
		ctx = ruleruntime.WithTime(ctx, tl.Time)
	}
	if tl.MaxOutput > 0 {
		ctx = ruleruntime.WithMaxOutput(ctx, tl.MaxOutput)
	}
	return ctx
}

// moduleKey names a tenant module compiled with a memory limit: the same
// upload under two limits is two compiled rules.
func moduleKey(sha string, memoryPages uint32) string {
	if memoryPages == 0 {
		return sha
	}
	return fmt.Sprintf("%s/%d", sha, memoryPages)
}

// forget drops a failed entry so that the next use starts afresh.
func (s *Set) forget(key string, l *lazyRule) {
	s.mu.Lock()
	if s.compiled[key] == l {
		delete(s.compiled, key)
	}
	s.mu.Unlock()
}

// BuiltinCodes lists the built-in rule codes in order.
func (s *Set) BuiltinCodes() []string {
	codes := make([]string, 0, len(s.builtin))
	for c := range s.builtin {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	return codes
}

var _ route.Router = (*Set)(nil)
