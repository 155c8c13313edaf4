// Command email is callgate's built-in e-mail rule as a WebAssembly module:
// it sends a callback's content as an e-mail to ext.destination, with
// ext.subject as the subject and ext.attachment, a link, as an attachment.
//
// Build it, with the other built-in rules, by go generate ./rules.
package main

import "github.com/callgate/callgate/sdk/rule"

func init() { rule.Handle(route) }

// main is never called: the module is a WASI reactor, which runs only init
// functions before the gateway calls its exports.
func main() {}
