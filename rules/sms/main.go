// Command sms is callgate's built-in SMS rule as a WebAssembly module: it
// sends a callback's content as a text message to the phone number in
// ext.destination.
//
// Build it, with the other built-in rules, by go generate ./rules.
package main

import "github.com/callgate/callgate/sdk/rule"

func init() { rule.Handle(route) }

// main is never called: the module is a WASI reactor, which runs only init
// functions before the gateway calls its exports.
func main() {}
