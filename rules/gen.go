// Package rules holds callgate's built-in rules: their Go sources, one
// folder each, and the WebAssembly modules built from them, which
// [Builtin] serves to the gateway.
//
//	http   the callback's content, POSTed to every callback config
//	email  an e-mail to ext.destination with ext.subject and ext.attachment
//	sms    a text message to the phone number in ext.destination
//	ebaas  the EBaaS event envelope to every config, judged by {"code":"000"}
//	tim    Tencent IM's third-party callback, signed, judged by ActionStatus
//
// Each rule is written against github.com/callgate/callgate/sdk/rule like
// any tenant's. The modules in wasm/ are generated and committed:
//
//	go generate ./rules
//
// rebuilds them all, and TestBuiltinIsFresh fails when a module does not
// match its source.
package rules

//go:generate go run ./internal/build -out wasm
