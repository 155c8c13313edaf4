package ruleruntime

import "errors"

// Sentinel errors. Callers tell failures apart with errors.Is and map them to
// their codes once, at their edge. A failed call wraps exactly one of them and
// says more in its message, except a call abandoned because its context was
// canceled, which wraps the context's error. Compile's refusals wrap
// ErrInvalidModule and, when the first instance failed to start, the reason
// (ErrTimeout from a runaway _initialize, for instance).
var (
	// ErrInvalidModule is returned by Runtime.Compile for a module it refuses:
	// bytes that are not WebAssembly, code the meter cannot decode, missing
	// or mistyped exports, imports other than callgate_v1 log and now_ms and
	// wasi_snapshot_preview1, or an instance that fails to start.
	ErrInvalidModule = errors.New("invalid rule module")
	// ErrTrap is returned when the rule traps (unreachable, division by zero,
	// out-of-bounds access, call stack exhausted, proc_exit, a Go panic).
	ErrTrap = errors.New("rule trapped")
	// ErrTimeout is returned when the rule spent its fuel or passed its
	// wall-clock limit.
	ErrTimeout = errors.New("rule ran out of time")
	// ErrMemory is returned when the rule failed to grow its memory past the
	// limit, or its allocator answered 0.
	ErrMemory = errors.New("rule ran out of memory")
	// ErrOutputTooLarge is returned when the rule's output is longer than
	// Limits.MaxOutput.
	ErrOutputTooLarge = errors.New("rule output too large")
	// ErrBadPointer is returned when a pointer and length from the rule (its
	// output, its allocation, a log line) do not lie inside its memory.
	ErrBadPointer = errors.New("rule pointer outside its memory")
	// ErrNoClassify is returned by Rule.Classify when the rule does not
	// export callgate_v1_classify.
	ErrNoClassify = errors.New("rule has no classify export")
	// ErrClosed is returned by calls on a closed Rule or Runtime.
	ErrClosed = errors.New("rule runtime closed")
)
