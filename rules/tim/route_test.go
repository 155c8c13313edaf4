package main

import (
	"reflect"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

// seedContent is the request body of the seed's C2C.CallbackAfterSendMsg.
const seedContent = `{
    "CallbackCommand": "C2C.CallbackAfterSendMsg",
    "From_Account": "jared",
    "To_Account": "Jonh",
    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red packet"}}]
}`

func TestRoute(t *testing.T) {
	configs := []rule.Config{
		{ID: "cfg_1", URL: "https://www.example.com", HasToken: true},
		{ID: "cfg_2", URL: "https://backup.example.com/im"},
	}
	ext := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	post := func(c rule.Config, sign string, query map[string]string, body string) rule.Delivery {
		return rule.Delivery{Channel: "http", ConfigID: c.ID, Destination: c.URL, Method: "POST",
			Headers: map[string]string{"Content-Type": "application/json"}, Query: query, Body: body, Sign: sign}
	}
	reject := func(code, msg string) *rule.Decision {
		return &rule.Decision{Reject: &rule.Rejection{Code: code, Message: msg}}
	}
	fullQuery := map[string]string{"SdkAppid": "1400000000", "CallbackCommand": "C2C.CallbackAfterSendMsg",
		"contenttype": "json", "ClientIP": "203.0.113.7", "OptPlatform": "iOS"}
	tests := []struct {
		name    string
		content string
		ext     map[string]string
		configs []rule.Config
		want    *rule.Decision
	}{
		{
			name:    "seed_callback_signed_where_a_token_is",
			content: seedContent,
			ext:     ext("sdkAppid", "1400000000", "clientIP", "203.0.113.7", "optPlatform", "iOS"),
			configs: configs,
			want: &rule.Decision{Deliveries: []rule.Delivery{
				post(configs[0], "tim", fullQuery, seedContent),
				post(configs[1], "", fullQuery, seedContent),
			}},
		},
		{
			name:    "protocol_spelling_and_no_optional_params",
			content: `{"CallbackCommand":"Group.CallbackAfterSendMsg"}`,
			ext:     ext("SdkAppid", " 1400000001 "),
			configs: configs[1:],
			want: &rule.Decision{Deliveries: []rule.Delivery{post(configs[1], "",
				map[string]string{"SdkAppid": "1400000001", "CallbackCommand": "Group.CallbackAfterSendMsg", "contenttype": "json"},
				`{"CallbackCommand":"Group.CallbackAfterSendMsg"}`)}},
		},
		{
			name:    "no_app_id",
			content: seedContent,
			configs: configs,
			want:    reject(rule.CodeParamError, "参数sdkAppid不能为空 (ext.sdkAppid is required)"),
		},
		{
			name:    "app_id_not_digits",
			content: seedContent,
			ext:     ext("sdkAppid", "14000&x=1"),
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数sdkAppid必须是数字 (ext.sdkAppid must be digits)"),
		},
		{
			name:    "no_command",
			content: `{"From_Account":"jared"}`,
			ext:     ext("sdkAppid", "1400000000"),
			configs: configs,
			want:    reject(rule.CodeParamError, "参数CallbackCommand不能为空 (the content's CallbackCommand is required)"),
		},
		{
			name:    "command_not_a_string",
			content: `{"CallbackCommand":1}`,
			ext:     ext("sdkAppid", "1400000000"),
			configs: configs,
			want:    reject(rule.CodeParamError, "参数CallbackCommand不能为空 (the content's CallbackCommand is required)"),
		},
		{
			name:    "not_json",
			content: `CallbackCommand=C2C.CallbackAfterSendMsg`,
			ext:     ext("sdkAppid", "1400000000"),
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数content不是JSON对象 (content must be the callback's JSON object)"),
		},
		{
			name:    "no_config",
			content: seedContent,
			ext:     ext("sdkAppid", "1400000000"),
			want: reject(rule.CodeNoCallbackConfig,
				"the tenant has no callback config: add one with ModifyCallbackConfig first"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &rule.Input{ABI: 1, Rule: "tim", Content: tt.content,
				Properties: rule.Properties{Rule: "tim", Ext: tt.ext}, Configs: tt.configs}
			if got := rule.RouteFunc(route).Decide(in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("route\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		answer rule.Answer
		want   rule.Verdict
	}{
		{"seed_success", rule.Answer{StatusCode: 200, Body: `{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}`},
			rule.Verdict{Verdict: rule.Success}},
		{"fail", rule.Answer{StatusCode: 200, Body: `{"ActionStatus":"FAIL","ErrorInfo":"bad app","ErrorCode":1}`},
			rule.Verdict{Verdict: rule.Retry, Reason: `ActionStatus "FAIL", ErrorCode 1: bad app`}},
		{"ok_with_an_error_code", rule.Answer{StatusCode: 200, Body: `{"ActionStatus":"OK","ErrorCode":1}`},
			rule.Verdict{Verdict: rule.Retry, Reason: `ActionStatus "OK", ErrorCode 1`}},
		{"no_error_code", rule.Answer{StatusCode: 200, Body: `{"ActionStatus":"OK"}`},
			rule.Verdict{Verdict: rule.Retry, Reason: `ActionStatus "OK", ErrorCode missing`}},
		{"error_code_as_a_string", rule.Answer{StatusCode: 200, Body: `{"ActionStatus":"OK","ErrorCode":"0"}`},
			rule.Verdict{Verdict: rule.Retry, Reason: `ActionStatus "OK", ErrorCode missing`}},
		{"lowercase_ok", rule.Answer{StatusCode: 200, Body: `{"ActionStatus":"ok","ErrorCode":0}`},
			rule.Verdict{Verdict: rule.Retry, Reason: `ActionStatus "ok", ErrorCode 0`}},
		{"unparsable", rule.Answer{StatusCode: 502, Body: `<html>Bad Gateway</html>`},
			rule.Verdict{Verdict: rule.Retry, Reason: "the answer is not a JSON object (status 502)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rule.ClassifyFunc(judge).Judge(&tt.answer); got != tt.want {
				t.Errorf("classify = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestRoute_json(t *testing.T) {
	got := string(rule.RouteFunc(route).ServeJSON(nil, []byte(`{"abi":1,"rule":"tim",`+
		`"content":"{\"CallbackCommand\":\"C2C.CallbackAfterSendMsg\"}",`+
		`"properties":{"rule":"tim","ext":{"sdkAppid":"1400000000","clientIP":"203.0.113.7","optPlatform":"Web"}},`+
		`"configs":[{"id":"cfg_1","url":"https://www.example.com","hasKey":false,"hasToken":true}]}`)))
	want := `{"deliveries":[{"channel":"http","configId":"cfg_1","destination":"https://www.example.com","method":"POST",` +
		`"headers":{"Content-Type":"application/json"},"query":{"CallbackCommand":"C2C.CallbackAfterSendMsg",` +
		`"ClientIP":"203.0.113.7","OptPlatform":"Web","SdkAppid":"1400000000","contenttype":"json"},` +
		`"body":"{\"CallbackCommand\":\"C2C.CallbackAfterSendMsg\"}","sign":"tim"}]}`
	if got != want {
		t.Errorf("ServeJSON\n got %s\nwant %s", got, want)
	}
}
