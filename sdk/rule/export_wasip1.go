//go:build wasip1

package rule

import "unsafe"

// The exports of the rule ABI. They live in the SDK, so importing it is all
// a rule does to have them: a package other than main may carry
// //go:wasmexport directives, and the linker keeps them whenever the
// package is linked in.
//
// One instance serves one call at a time, so the state below needs no
// locking.
var (
	// inputs are the buffers callgate_v1_alloc handed out since the last
	// call, kept reachable so the collector does not free them before the
	// host's input is read.
	inputs [][]byte
	// spare is the last input buffer, reused for the next input that fits.
	spare []byte
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
	var b []byte
	if len(inputs) == 0 && cap(spare) >= int(size) && cap(spare) > 0 {
		b, spare = spare[:size], nil
	} else {
		b = make([]byte, size, max(size, 1))
	}
	inputs = append(inputs, b)
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)]))))
}

//go:wasmexport callgate_v1_route
func exportRoute(ptr, n uint32) uint64 {
	if in, ok := takeInput(ptr, n); ok {
		output = routeFunc.ServeJSON(output[:0], in)
	} else {
		output = AppendDecision(output[:0], ruleError("the route input is not in memory from callgate_v1_alloc"))
	}
	releaseInputs()
	return packOutput()
}

//go:wasmexport callgate_v1_classify
func exportClassify(ptr, n uint32) uint64 {
	if in, ok := takeInput(ptr, n); ok {
		output = classifyFunc.ServeJSON(output[:0], in)
	} else {
		output = AppendVerdict(output[:0], Verdict{Verdict: Retry, Reason: "the classify input is not in memory from callgate_v1_alloc"})
	}
	releaseInputs()
	return packOutput()
}

// takeInput finds the bytes ptr and n name inside a buffer from
// exportAlloc. Looking the pointer up, instead of converting it, keeps the
// module's memory safe from a host that passes anything else.
func takeInput(ptr, n uint32) ([]byte, bool) {
	for _, b := range inputs {
		base := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b[:cap(b)]))))
		if ptr >= base && uint64(ptr)+uint64(n) <= uint64(base)+uint64(len(b)) {
			off := ptr - base
			return b[off : off+n], true
		}
	}
	return nil, false
}

// releaseInputs forgets the call's input buffers, keeping the largest one
// for the next call.
func releaseInputs() {
	for _, b := range inputs {
		if cap(b) > cap(spare) {
			spare = b
		}
	}
	clear(inputs)
	inputs = inputs[:0]
}

// packOutput returns the output's location as the ABI packs it:
// ptr << 32 | len.
func packOutput() uint64 {
	ptr := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(output))))
	return uint64(ptr)<<32 | uint64(uint32(len(output)))
}
