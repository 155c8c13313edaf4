//go:build wasip1

package rule

import "github.com/callgate/callgate/sdk/rule/internal/abi"

// The route export lives in the SDK, so importing it is all a rule does to
// have it: a package other than main may carry //go:wasmexport directives,
// and the linker keeps them whenever the package is linked in. The
// package abi it imports carries callgate_v1_alloc; the classify export is
// in the package classify, for the rules that judge answers.

//go:wasmexport callgate_v1_route
func exportRoute(ptr, n uint32) uint64 {
	return abi.Serve(ptr, n, serveRoute, refuseRoute)
}

func serveRoute(dst []byte, text string, arena []byte) []byte {
	return routeFunc.serve(dst, text, arena)
}

func refuseRoute(dst []byte) []byte {
	return AppendDecision(dst, ruleError("the route input is not in memory from callgate_v1_alloc"))
}
