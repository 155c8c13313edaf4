package main

import (
	"reflect"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestRoute(t *testing.T) {
	input := func(content, destination string) rule.Input {
		return rule.Input{Content: content, Properties: rule.Properties{Rule: "sms",
			Ext: map[string]string{"destination": destination}}}
	}
	sms := func(to, body string) *rule.Decision {
		return &rule.Decision{Deliveries: []rule.Delivery{{Channel: "sms", Destination: to, Body: body}}}
	}
	reject := func(code, msg string) *rule.Decision {
		return &rule.Decision{Reject: &rule.Rejection{Code: code, Message: msg}}
	}
	const badNumber = "参数destination不是有效的手机号码 (destination is not a phone number: use E.164, such as +8613800138000)"
	tests := []struct {
		name string
		in   rule.Input
		want *rule.Decision
	}{
		{"e164", input("您的验证码是 123456", "+8613800138000"), sms("+8613800138000", "您的验证码是 123456")},
		{"e164_elsewhere", input("code 1", " +14155550123 "), sms("+14155550123", "code 1")},
		{"mainland_mobile", input("hi", "13800138000"), sms("+8613800138000", "hi")},
		{"mainland_mobile_19x", input("hi", "19912345678"), sms("+8619912345678", "hi")},
		{"no_destination", rule.Input{Content: "hi"}, reject(rule.CodeParamError, "参数destination不能为空 (destination is required)")},
		{"landline", input("hi", "02012345678"), reject(rule.CodeInvalidValue, badNumber)},
		{"mainland_12x", input("hi", "12012345678"), reject(rule.CodeInvalidValue, badNumber)},
		{"ten_digits", input("hi", "1380013800"), reject(rule.CodeInvalidValue, badNumber)},
		{"e164_too_long", input("hi", "+1234567890123456"), reject(rule.CodeInvalidValue, badNumber)},
		{"e164_too_short", input("hi", "+1234567"), reject(rule.CodeInvalidValue, badNumber)},
		{"e164_leading_zero", input("hi", "+0861380013800"), reject(rule.CodeInvalidValue, badNumber)},
		{"with_spaces", input("hi", "+86 138 0013 8000"), reject(rule.CodeInvalidValue, badNumber)},
		{"letters", input("hi", "+86138001380x0"), reject(rule.CodeInvalidValue, badNumber)},
		{"no_content", input(" ", "13800138000"), reject(rule.CodeParamError, "参数content不能为空 (content is required)")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rule.RouteFunc(route).Decide(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("route\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestRoute_json(t *testing.T) {
	got := string(rule.RouteFunc(route).ServeJSON(nil, []byte(`{"abi":1,"content":"验证码 123456",`+
		`"properties":{"rule":"sms","ext":{"destination":"13800138000"}}}`)))
	if want := `{"deliveries":[{"channel":"sms","destination":"+8613800138000","body":"验证码 123456"}]}`; got != want {
		t.Errorf("ServeJSON\n got %s\nwant %s", got, want)
	}
}
