// Command ebaas is callgate's built-in EBaaS rule as a WebAssembly module:
// it delivers a callback's event to every callback config in the envelope
// EBaaS receivers expect, and takes an answer as a success only when its
// body says {"code":"000"}.
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
