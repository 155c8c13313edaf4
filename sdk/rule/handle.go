package rule

import (
	"errors"
	"strconv"
)

// RouteFunc decides where a callback goes. It returns the deliveries to
// make, or an error: a [*RejectError] (see [Reject]) rejects the callback
// with its own code, any other error rejects it with [CodeRuleError] and the
// error's text.
type RouteFunc func(*Input) (*Decision, error)

// ClassifyFunc judges a receiver's answer to a delivery. A rule registers
// one with the package [github.com/callgate/callgate/sdk/rule/classify].
type ClassifyFunc func(*Answer) Verdict

// routeFunc is the function the route export calls. It is set by Handle
// from a rule's init, before the gateway's first call, and only read
// afterwards.
var routeFunc RouteFunc

// Handle registers the rule's route function: the one callgate_v1_route
// calls. Call it from the rule's init function (a WebAssembly reactor runs
// init functions, never main).
func Handle(route RouteFunc) { routeFunc = route }

// DefaultClassify judges as the gateway does when a rule does not classify:
// any 2xx status is a success, anything else is retried.
func DefaultClassify(a *Answer) Verdict {
	if a.StatusCode >= 200 && a.StatusCode <= 299 {
		return Verdict{Verdict: Success}
	}
	return Verdict{Verdict: Retry, Reason: "status " + strconv.Itoa(a.StatusCode)}
}

// Decide calls route the way the gateway's call does and returns what the
// gateway gets: the decision, or a rejection made from the error returned,
// a panic, an input of another ABI version, or a decision that does not
// [Decision.Validate]. It never returns nil. Rule tests use it to see a
// rule's answer exactly.
func (route RouteFunc) Decide(in *Input) (d *Decision) {
	if route == nil {
		return ruleError("no route function: call rule.Handle from the rule's init")
	}
	if in.ABI != 0 && in.ABI != ABIVersion {
		return ruleError("input has ABI version " + strconv.Itoa(in.ABI) + ", the rule speaks 1")
	}
	defer func() {
		if p := recover(); p != nil {
			d = ruleError("rule panicked: " + panicText(p))
		}
	}()
	d, err := route(in)
	if err != nil {
		var rej *RejectError
		if errors.As(err, &rej) {
			return &Decision{Reject: rej.Rejection()}
		}
		return ruleError(err.Error())
	}
	if d == nil {
		return &Decision{}
	}
	if err := d.Validate(); err != nil {
		return ruleError("invalid decision: " + err.Error())
	}
	return d
}

// ServeJSON does what callgate_v1_route does: it decodes a route input,
// calls [RouteFunc.Decide] and appends the decision's JSON to dst. An input
// that does not decode is rejected with [CodeRuleError].
func (route RouteFunc) ServeJSON(dst, input []byte) []byte {
	text, arena := ownText(input)
	return route.serve(dst, text, arena)
}

// serve is ServeJSON on an input's text, which the decoded input keeps,
// with arena for its unescaped strings (see decodeInput).
func (route RouteFunc) serve(dst []byte, text string, arena []byte) []byte {
	b, err := decodeInput(text, arena)
	if err != nil {
		return AppendDecision(dst, ruleError("decoding the route input: "+err.Error()))
	}
	return b.enc.appendDecision(dst, route.Decide(&b.in))
}

// Judge calls classify the way the gateway's call does and returns what the
// gateway gets. A panic or a verdict other than [Success], [Retry] or
// [Permanent] is a Retry that says why: retrying never loses a delivery.
func (classify ClassifyFunc) Judge(a *Answer) (v Verdict) {
	if classify == nil {
		classify = DefaultClassify
	}
	defer func() {
		if p := recover(); p != nil {
			v = Verdict{Verdict: Retry, Reason: "classify panicked: " + panicText(p)}
		}
	}()
	v = classify(a)
	if err := v.Validate(); err != nil {
		return Verdict{Verdict: Retry, Reason: "invalid verdict: " + err.Error()}
	}
	return v
}

// ServeJSON does what callgate_v1_classify does (see the package
// classify): it decodes an answer,
// calls [ClassifyFunc.Judge] and appends the verdict's JSON to dst. An
// answer that does not decode is a Retry that says why.
func (classify ClassifyFunc) ServeJSON(dst, input []byte) []byte {
	a, err := DecodeAnswer(input)
	if err != nil {
		return AppendVerdict(dst, Verdict{Verdict: Retry, Reason: "decoding the classify input: " + err.Error()})
	}
	return AppendVerdict(dst, classify.Judge(a))
}

func ruleError(msg string) *Decision {
	return &Decision{Reject: &Rejection{Code: CodeRuleError, Message: msg}}
}

func panicText(p any) string {
	switch p := p.(type) {
	case error:
		return p.Error()
	case string:
		return p
	case interface{ String() string }:
		return p.String()
	}
	return "a value that is not an error or a string"
}
