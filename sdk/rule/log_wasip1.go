//go:build wasip1

package rule

import "unsafe"

//go:wasmimport callgate_v1 log
func hostLog(level int32, ptr unsafe.Pointer, n int32)

func writeLog(level Level, msg string) {
	hostLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), int32(len(msg)))
}
