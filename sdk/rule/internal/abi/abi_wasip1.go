//go:build wasip1

package abi

import "unsafe"

// One instance serves one call at a time, so the state below needs no
// locking.
var (
	// inputs are the buffers callgate_v1_alloc handed out since the last
	// call, kept reachable so the collector does not free them before the
	// host's input is read.
	inputs [][]byte
	// output is the last answer, which the ABI keeps valid until the next
	// call into the module.
	output []byte
)

// maxAlloc bounds one allocation well above the gateway's limits, so that
// a bad size answers 0 instead of exhausting memory.
const maxAlloc = 64 << 20

//go:wasmexport callgate_v1_alloc
func exportAlloc(size int32) uint32 {
	if size < 0 || size > maxAlloc {
		return 0
	}
	// The buffer is the input's for good: a decoded input's strings are
	// substrings of it, and a rule may keep them, so it is never reused.
	// The room after it, as much again and a word, is where a decoder
	// unescapes the strings that need it: one allocation for the whole
	// input.
	b := make([]byte, size, 2*size+8)
	inputs = append(inputs, b)
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// Serve answers one call of an export with the input at ptr and n: serve
// appends its answer to the output from the input's text, which it may
// keep, and arena, empty room after the input it may append to; refuse
// appends the answer to an input that is not in memory from
// callgate_v1_alloc. Serve returns the output's location as the ABI packs
// it: ptr << 32 | len.
func Serve(ptr, n uint32, serve func(dst []byte, text string, arena []byte) []byte, refuse func(dst []byte) []byte) uint64 {
	if text, arena, ok := takeInput(ptr, n); ok {
		output = serve(output[:0], text, arena)
	} else {
		output = refuse(output[:0])
	}
	clear(inputs)
	inputs = inputs[:0]
	out := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(output))))
	return uint64(out)<<32 | uint64(uint32(len(output)))
}

// takeInput finds the bytes ptr and n name inside a buffer from
// exportAlloc. Looking the pointer up, instead of converting it, keeps the
// module's memory safe from a host that passes anything else.
func takeInput(ptr, n uint32) (text string, arena []byte, ok bool) {
	for _, b := range inputs {
		base := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
		if ptr >= base && uint64(ptr)+uint64(n) <= uint64(base)+uint64(len(b)) {
			off := ptr - base
			return unsafe.String(unsafe.SliceData(b[off:]), n), b[len(b):], true
		}
	}
	return "", nil, false
}
