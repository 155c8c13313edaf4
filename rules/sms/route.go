package main

import (
	"strings"

	"github.com/callgate/callgate/sdk/rule"
)

// route sends the content as one text message to ext.destination, in
// E.164 form.
func route(in *rule.Input) (*rule.Decision, error) {
	raw := strings.TrimSpace(in.Properties.Ext["destination"])
	if raw == "" {
		return nil, rule.Reject(rule.CodeParamError, "参数destination不能为空 (destination is required)")
	}
	to, ok := normalize(raw)
	if !ok {
		return nil, rule.Reject(rule.CodeInvalidValue,
			"参数destination不是有效的手机号码 (destination is not a phone number: use E.164, such as +8613800138000)")
	}
	if strings.TrimSpace(in.Content) == "" {
		return nil, rule.Reject(rule.CodeParamError, "参数content不能为空 (content is required)")
	}
	return &rule.Decision{Deliveries: []rule.Delivery{{Channel: "sms", Destination: to, Body: in.Content}}}, nil
}

// normalize returns a phone number in E.164 form: "+" and 8 to 15 digits,
// the first not 0, kept as is; or a mainland China mobile number of 11
// digits, 1[3-9]xxxxxxxxx, with +86 put in front.
func normalize(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		if len(rest) >= 8 && len(rest) <= 15 && rest[0] != '0' && allDigits(rest) {
			return s, true
		}
		return "", false
	}
	if len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && allDigits(s) {
		return "+86" + s, true
	}
	return "", false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
