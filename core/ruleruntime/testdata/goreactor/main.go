// Command goreactor is a test rule: a Go wasip1 reactor built with
// GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared. Its route answers a
// fixed decision whose body echoes the input; a few inputs make it misbehave
// on purpose, for the runtime's tests.
package main

import (
	"os"
	"unsafe"
)

func main() {}

// in holds the last input; out the last output, alive until the next call.
var in, out []byte

//go:wasmimport callgate_v1 log
func hostLog(level, ptr, size uint32)

//go:wasmimport callgate_v1 now_ms
func nowMS() int64

func logf(level uint32, s string) {
	b := []byte(s)
	if len(b) == 0 {
		return
	}
	hostLog(level, uint32(uintptr(unsafe.Pointer(&b[0]))), uint32(len(b)))
}

//go:wasmexport callgate_v1_alloc
func alloc(size int32) int32 {
	in = make([]byte, size)
	if size == 0 {
		return 0
	}
	return int32(uintptr(unsafe.Pointer(&in[0])))
}

//go:wasmexport callgate_v1_route
func route(ptr, size int32) int64 {
	input := in[:size]
	switch string(input) {
	case "spin":
		n := 0
		for {
			n++
		}
	case "panic":
		panic("rule panicked on purpose")
	case "bomb":
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	case "log":
		logf(1, "hello from go")
		println("to stderr")
		os.Stdout.WriteString("to stdout\n")
	case "fs":
		_, err := os.Open("/etc/passwd")
		if err == nil {
			return answer([]byte("opened"))
		}
		return answer([]byte("refused: " + err.Error()))
	case "work":
		return answer(work())
	case "clock":
		return answer([]byte(itoa(nowMS())))
	}
	return answer(decision(input))
}

//go:wasmexport callgate_v1_classify
func classify(ptr, size int32) int64 {
	return answer([]byte(`{"verdict":"success","reason":""}`))
}

// work is a busy route: arithmetic in a loop, then many small calls and
// allocations.
func work() []byte {
	h := uint32(2166136261)
	for i := 0; i < 100_000; i++ {
		h = (h ^ uint32(i)) * 16777619
	}
	var b []byte
	for i := int64(0); i < 2_000; i++ {
		b = append(b[:0], itoa(i+int64(h&0xff))...)
	}
	return append(b, itoa(int64(h))...)
}

func answer(b []byte) int64 {
	out = b
	if len(b) == 0 {
		return 0
	}
	return int64(uintptr(unsafe.Pointer(&out[0])))<<32 | int64(len(out))
}

// decision builds the answer by hand, without encoding/json.
func decision(body []byte) []byte {
	b := make([]byte, 0, 128+len(body))
	b = append(b, `{"deliveries":[{"channel":"http","destination":"https://example.com/cb","body":`...)
	b = appendQuoted(b, body)
	return append(b, `}]}`...)
}

func appendQuoted(b, s []byte) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for v > 0 {
		i--
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return string(buf[i:])
}
