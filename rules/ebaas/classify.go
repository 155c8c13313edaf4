package main

import (
	"strconv"

	"github.com/callgate/callgate/sdk/rule"
)

// judge follows the EBaaS contract: code "000" in the answer's JSON body
// is a success, whatever the HTTP status; anything else (another code, no
// code, a body that is not JSON, any status without such a body) is a
// failure the platform retries, so the rule never answers permanent.
func judge(a *rule.Answer) rule.Verdict {
	body, err := rule.Parse(a.Body)
	if err != nil || body.Kind() != rule.KindObject {
		return rule.Verdict{Verdict: rule.Retry, Reason: "the answer is not a JSON object" + status(a)}
	}
	code, ok := body.Get("code").Text()
	if !ok {
		return rule.Verdict{Verdict: rule.Retry, Reason: "the answer has no code" + status(a)}
	}
	if code == "000" {
		return rule.Verdict{Verdict: rule.Success}
	}
	reason := "code " + code
	if msg, _ := body.Get("msg").Text(); msg != "" {
		reason += ": " + msg
	}
	return rule.Verdict{Verdict: rule.Retry, Reason: reason + status(a)}
}

func status(a *rule.Answer) string {
	if a.StatusCode == 0 {
		return ""
	}
	return " (status " + strconv.Itoa(a.StatusCode) + ")"
}
