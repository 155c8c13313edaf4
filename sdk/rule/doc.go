// Package rule is the Go SDK for callgate rules: WebAssembly modules that
// decide where a tenant's callbacks go and how receivers' answers are
// judged. It implements the rule ABI v1, documented in ABI.md beside this
// file, with the standard Go toolchain (no TinyGo).
//
// A rule is a main package that registers a route function from its init
// function. Importing this package gives the module the ABI's exports
// (callgate_v1_alloc and callgate_v1_route); the rule writes no WebAssembly
// glue of its own. A rule that judges receivers' answers also registers a
// classify function with the package
// [github.com/callgate/callgate/sdk/rule/classify], whose import adds the
// callgate_v1_classify export; without it the gateway judges by the status
// and makes no second call into the module.
//
//	// Command shout sends each callback, upper-cased, to every callback
//	// config of the tenant, and rejects empty ones.
//	package main
//
//	import (
//		"strings"
//
//		"github.com/callgate/callgate/sdk/rule"
//		"github.com/callgate/callgate/sdk/rule/classify"
//	)
//
//	func init() {
//		rule.Handle(route)
//		classify.Handle(judge)
//	}
//
//	// main is never called: a WebAssembly reactor only runs init functions.
//	func main() {}
//
//	func route(in *rule.Input) (*rule.Decision, error) {
//		if in.Content == "" {
//			return nil, rule.Reject(rule.CodeParamError, "参数content不能为空 (content is required)")
//		}
//		if len(in.Configs) == 0 {
//			return nil, rule.Reject(rule.CodeNoCallbackConfig, "the tenant has no callback config")
//		}
//		d := &rule.Decision{}
//		for _, c := range in.Configs {
//			d.Deliveries = append(d.Deliveries, rule.Delivery{
//				Channel:  "http",
//				ConfigID: c.ID,
//				Method:   "POST",
//				Headers:  map[string]string{"Content-Type": "text/plain; charset=utf-8"},
//				Body:     strings.ToUpper(in.Content),
//			})
//		}
//		rule.Log(rule.LevelDebug, "routed "+in.MessageID)
//		return d, nil
//	}
//
//	// judge takes a 2xx answer whose body says "ok" as a success.
//	func judge(a *rule.Answer) rule.Verdict {
//		if a.StatusCode/100 == 2 && strings.TrimSpace(a.Body) == "ok" {
//			return rule.Verdict{Verdict: rule.Success}
//		}
//		return rule.Verdict{Verdict: rule.Retry, Reason: "the receiver did not say ok"}
//	}
//
// Build it as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -ldflags=-buildid= -buildvcs=false -o shout.wasm .
//
// -buildmode=c-shared makes a reactor, whose exports the gateway calls many
// times; -trimpath, an empty build id and no VCS stamp make the same source
// build the same bytes. A module is about 2 MB.
//
// # Testing
//
// Everything except the exports' few lines of glue is ordinary Go, so a
// rule's logic is unit-tested natively with go test. [RouteFunc.Decide] and
// [ClassifyFunc.Judge] return exactly what the gateway would get, including
// rejections made from errors and panics; [RouteFunc.ServeJSON] goes
// through the JSON the gateway sends and reads: [AppendInput] writes an
// input as the gateway does, and [DecodeDecision] reads the answer as the
// gateway will.
//
// # JSON
//
// encoding/json works in a rule, but in WebAssembly it makes a route call
// several times slower (about 9x for the http rule on a small callback,
// 6x on a 1.5 KB one) and the module about a megabyte larger. The SDK
// decodes the ABI's inputs and encodes its outputs with a small scanner
// instead, which accepts exactly what encoding/json accepts, and offers it
// for a rule's own JSON: [Parse] reads any value (a callback's content, a
// receiver's answer) into a [Value], [Valid] checks one, and [AppendQuote]
// and [Value.AppendJSON] write JSON.
//
// # Concurrency
//
// The gateway calls one instance once at a time and pools instances, so a
// rule needs no locks; globals may be reused between calls but must not
// carry meaning from one call to the next. [Handle] and the classify
// package's Handle are meant for init functions and are not safe to call
// concurrently with a call.
package rule
