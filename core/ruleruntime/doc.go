// Package ruleruntime is the sandbox that runs tenants' rules: WebAssembly
// modules that implement the rule ABI v1 (sdk/rule/ABI.md), executed with
// wazero.
//
// A [Runtime] compiles each rule once ([Runtime.Compile]); the [Rule] it
// returns keeps a bounded pool of module instances and serves
// [Rule.Route] and [Rule.Classify] from any number of goroutines.
//
// # Limits
//
// Every call runs under [Limits]: time, memory and output size. Time is
// enforced twice, cheaply. When a rule is compiled its code is rewritten
// (internal/meter) to spend one unit of fuel at every function entry and loop
// header and to trap when the budget, [FuelPerMillisecond] times the time
// limit, is spent; the rewrite also bounds the native stack that recursion may
// use. A per-instance timer is the wall-clock backstop: when it fires (or the
// caller's context ends) it raises the fuel floor from outside, so the rule
// traps at its next function entry or loop header. Neither costs a goroutine
// per call, unlike wazero's WithCloseOnContextDone, which this package leaves
// off. The timer cannot fire while Go's garbage collector waits to stop the
// world for a running call (code in wazero cannot be preempted); fuel, checked
// by the rule itself, bounds the call then too.
//
// Memory is bounded with wazero's page limit, one wazero runtime per distinct
// MemoryPages value, all sharing one compilation cache.
//
// # Errors
//
// Calls fail with errors wrapping one of the sentinels ([ErrTrap],
// [ErrTimeout], [ErrMemory], [ErrOutputTooLarge], [ErrBadPointer],
// [ErrNoClassify], [ErrClosed]); Compile refuses modules with
// [ErrInvalidModule]. After any failed call the instance is closed rather
// than pooled, since a trapped instance may hold corrupt state.
//
// # Host functions
//
// Rules may import callgate_v1.log and callgate_v1.now_ms, and anything of
// wasi_snapshot_preview1. WASI is given no files, no preopened folders, no
// environment, no arguments and no sockets; stdout and stderr become log
// lines; random numbers come from crypto/rand; proc_exit ends the call (as a
// trap), never the gateway.
package ruleruntime
