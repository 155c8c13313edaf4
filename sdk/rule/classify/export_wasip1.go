//go:build wasip1

package classify

import (
	"unsafe"

	"github.com/callgate/callgate/sdk/rule"
	"github.com/callgate/callgate/sdk/rule/internal/abi"
)

//go:wasmexport callgate_v1_classify
func exportClassify(ptr, n uint32) uint64 {
	return abi.Serve(ptr, n, serve, refuse)
}

func serve(dst []byte, text string, _ []byte) []byte {
	return fn.ServeJSON(dst, unsafe.Slice(unsafe.StringData(text), len(text)))
}

func refuse(dst []byte) []byte {
	return rule.AppendVerdict(dst, rule.Verdict{Verdict: rule.Retry,
		Reason: "the classify input is not in memory from callgate_v1_alloc"})
}
