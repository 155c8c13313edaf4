package main

import (
	"strconv"

	"github.com/callgate/callgate/sdk/rule"
)

// judge follows the Tencent IM callback contract: the answer is a
// success only when its JSON body has ActionStatus "OK" and ErrorCode 0.
// Everything else, a body that is not JSON included, is retried.
func judge(a *rule.Answer) rule.Verdict {
	body, err := rule.Parse(a.Body)
	if err != nil || body.Kind() != rule.KindObject {
		return rule.Verdict{Verdict: rule.Retry, Reason: "the answer is not a JSON object (status " + strconv.Itoa(a.StatusCode) + ")"}
	}
	status, _ := body.Get("ActionStatus").Text()
	code, hasCode := body.Get("ErrorCode").Int()
	if status == "OK" && hasCode && code == 0 {
		return rule.Verdict{Verdict: rule.Success}
	}
	reason := "ActionStatus " + strconv.Quote(status) + ", ErrorCode "
	if hasCode {
		reason += strconv.FormatInt(code, 10)
	} else {
		reason += "missing"
	}
	if info, _ := body.Get("ErrorInfo").Text(); info != "" {
		reason += ": " + info
	}
	return rule.Verdict{Verdict: rule.Retry, Reason: reason}
}
