// Command tim is callgate's built-in Tencent IM rule as a WebAssembly
// module: it delivers a callback as Tencent IM's third-party callbacks are
// delivered (C2C.CallbackAfterSendMsg and the others), with the protocol's
// query parameters and Sign, and takes an answer as a success only when it
// says ActionStatus "OK" and ErrorCode 0.
//
// Build it, with the other built-in rules, by go generate ./rules.
package main

import (
	"github.com/callgate/callgate/sdk/rule"
	"github.com/callgate/callgate/sdk/rule/classify"
)

func init() {
	rule.Handle(route)
	classify.Handle(judge)
}

// main is never called: the module is a WASI reactor, which runs only init
// functions before the gateway calls its exports.
func main() {}
