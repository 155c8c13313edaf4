// Package classify gives a Go rule the ABI's callgate_v1_classify export,
// with which the rule judges receivers' answers to its deliveries.
//
// Only a rule that imports this package has the export: a rule without it
// has no say, and the gateway takes any 2xx answer as a success and
// retries anything else, without a second call into the module for every
// delivery attempt. A rule that judges answers registers its function from
// its init, beside its route function:
//
//	func init() {
//		rule.Handle(route)
//		classify.Handle(judge)
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
// The function is tested natively with [rule.ClassifyFunc.Judge] and
// [rule.ClassifyFunc.ServeJSON], which do what the export does.
package classify

import "github.com/callgate/callgate/sdk/rule"

// fn is the function the export calls. It is set by Handle from a rule's
// init, before the gateway's first call, and only read afterwards; nil
// judges with [rule.DefaultClassify].
var fn rule.ClassifyFunc

// Handle registers the rule's classify function: the one
// callgate_v1_classify calls. Call it from the rule's init function; it is
// not safe to call concurrently with a call.
func Handle(classify rule.ClassifyFunc) { fn = classify }
