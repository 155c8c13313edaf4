package rule_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestRouteFunc_Decide(t *testing.T) {
	ok := &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c"}}}
	tests := []struct {
		name  string
		route rule.RouteFunc
		in    rule.Input
		want  *rule.Decision
	}{
		{
			name:  "decision",
			route: func(*rule.Input) (*rule.Decision, error) { return ok, nil },
			want:  ok,
		},
		{
			name:  "nil_decision_is_no_deliveries",
			route: func(*rule.Input) (*rule.Decision, error) { return nil, nil },
			want:  &rule.Decision{},
		},
		{
			name: "reject_error_keeps_its_code",
			route: func(*rule.Input) (*rule.Decision, error) {
				return nil, fmt.Errorf("checking ext: %w", rule.Reject(rule.CodeParamError, "参数subject不能为空"))
			},
			want: &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeParamError, Message: "参数subject不能为空"}},
		},
		{
			name:  "other_error_is_a_rule_error",
			route: func(*rule.Input) (*rule.Decision, error) { return nil, errors.New("boom") },
			want:  &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeRuleError, Message: "boom"}},
		},
		{
			name: "panic_is_a_rule_error",
			route: func(in *rule.Input) (*rule.Decision, error) {
				_ = in.Configs[3]
				return nil, nil
			},
			want: &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeRuleError,
				Message: "rule panicked: runtime error: index out of range [3] with length 0"}},
		},
		{
			name: "invalid_decision_is_a_rule_error",
			route: func(*rule.Input) (*rule.Decision, error) {
				return &rule.Decision{Deliveries: []rule.Delivery{{ConfigID: "c"}}}, nil
			},
			want: &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeRuleError,
				Message: "invalid decision: deliveries[0]: channel is required"}},
		},
		{
			name:  "other_abi_version",
			route: func(*rule.Input) (*rule.Decision, error) { return ok, nil },
			in:    rule.Input{ABI: 2},
			want: &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeRuleError,
				Message: "input has ABI version 2, the rule speaks 1"}},
		},
		{
			name: "no_route_function",
			want: &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeRuleError,
				Message: "no route function: call rule.Handle from the rule's init"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.route.Decide(&tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decide\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestRouteFunc_ServeJSON(t *testing.T) {
	route := rule.RouteFunc(func(in *rule.Input) (*rule.Decision, error) {
		return &rule.Decision{Deliveries: []rule.Delivery{{
			Channel: "http", ConfigID: in.Configs[0].ID, Body: in.Content,
		}}}, nil
	})
	got := string(route.ServeJSON([]byte("kept"), []byte(`{"abi":1,"content":"hi \"you\"","configs":[{"id":"cfg_1"}]}`)))
	if want := `kept{"deliveries":[{"channel":"http","configId":"cfg_1","body":"hi \"you\""}]}`; got != want {
		t.Errorf("ServeJSON\n got %s\nwant %s", got, want)
	}
	got = string(route.ServeJSON(nil, []byte(`{"abi":1,`)))
	if want := `{"reject":{"code":"FailedOperation.RuleError","message":"decoding the route input: json: unexpected end of JSON input at offset 9"}}`; got != want {
		t.Errorf("ServeJSON of bad JSON\n got %s\nwant %s", got, want)
	}
}

func TestClassifyFunc_Judge(t *testing.T) {
	tests := []struct {
		name     string
		classify rule.ClassifyFunc
		answer   rule.Answer
		want     rule.Verdict
	}{
		{"default_2xx", nil, rule.Answer{StatusCode: 204}, rule.Verdict{Verdict: rule.Success}},
		{"default_500", nil, rule.Answer{StatusCode: 500}, rule.Verdict{Verdict: rule.Retry, Reason: "status 500"}},
		{"default_410", rule.DefaultClassify, rule.Answer{StatusCode: 410}, rule.Verdict{Verdict: rule.Retry, Reason: "status 410"}},
		{"default_no_status", rule.DefaultClassify, rule.Answer{Channel: "email"}, rule.Verdict{Verdict: rule.Retry, Reason: "status 0"}},
		{
			name:     "permanent",
			classify: func(*rule.Answer) rule.Verdict { return rule.Verdict{Verdict: rule.Permanent, Reason: "gone"} },
			want:     rule.Verdict{Verdict: rule.Permanent, Reason: "gone"},
		},
		{
			name:     "invalid_verdict_retries",
			classify: func(*rule.Answer) rule.Verdict { return rule.Verdict{Verdict: "ok"} },
			want:     rule.Verdict{Verdict: rule.Retry, Reason: `invalid verdict: verdict "ok" is not success, retry or permanent`},
		},
		{
			name:     "panic_retries",
			classify: func(*rule.Answer) rule.Verdict { panic("oops") },
			want:     rule.Verdict{Verdict: rule.Retry, Reason: "classify panicked: oops"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.classify.Judge(&tt.answer); got != tt.want {
				t.Errorf("Judge = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestClassifyFunc_ServeJSON(t *testing.T) {
	classify := rule.ClassifyFunc(func(a *rule.Answer) rule.Verdict {
		if a.Body == `{"code":"000"}` {
			return rule.Verdict{Verdict: rule.Success}
		}
		return rule.Verdict{Verdict: rule.Retry, Reason: a.Body}
	})
	got := string(classify.ServeJSON(nil, []byte(`{"abi":1,"channel":"http","statusCode":500,"body":"{\"code\":\"000\"}"}`)))
	if want := `{"verdict":"success","reason":""}`; got != want {
		t.Errorf("ServeJSON = %s, want %s", got, want)
	}
	got = string(classify.ServeJSON(nil, []byte(`{"statusCode":true}`)))
	if want := `{"verdict":"retry","reason":"decoding the classify input: json: statusCode: want an integer, got a boolean at offset 14"}`; got != want {
		t.Errorf("ServeJSON of a bad answer\n got %s\nwant %s", got, want)
	}
}

func TestRejectError(t *testing.T) {
	err := rule.Reject(rule.CodeInvalidValue, "bad phone")
	if got := err.Error(); got != "InvalidParameterValue: bad phone" {
		t.Errorf("Error() = %q", got)
	}
	var rej *rule.RejectError
	if !errors.As(fmt.Errorf("wrapped: %w", err), &rej) || rej.Code != rule.CodeInvalidValue {
		t.Errorf("errors.As = %v", rej)
	}
}

func TestLevel_String(t *testing.T) {
	for l, want := range map[rule.Level]string{rule.LevelDebug: "DEBUG", rule.LevelError: "ERROR", 9: "Level(9)"} {
		if got := l.String(); got != want {
			t.Errorf("Level(%d).String() = %q, want %q", l, got, want)
		}
	}
}
