package main

import (
	"reflect"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestRoute(t *testing.T) {
	configs := []rule.Config{{ID: "cfg_1", URL: "https://a.example.com/cb"}, {ID: "cfg_2", URL: "https://b.example.com/cb"}}
	deliver := func(body string, cs ...rule.Config) *rule.Decision {
		d := &rule.Decision{}
		for _, c := range cs {
			d.Deliveries = append(d.Deliveries, rule.Delivery{Channel: "http", ConfigID: c.ID, Destination: c.URL,
				Method: "POST", Headers: map[string]string{"Content-Type": "application/json"}, Body: body,
				RetrySchedule: []int64{1000, 3000, 7000, 30000, 60000, 300000,
					3600000, 3600000, 3600000, 3600000, 3600000, 3600000, 3600000,
					3600000, 3600000, 3600000, 3600000, 3600000, 3600000, 3600000}})
		}
		return d
	}
	reject := func(code, msg string) *rule.Decision {
		return &rule.Decision{Reject: &rule.Rejection{Code: code, Message: msg}}
	}
	tests := []struct {
		name    string
		content string
		configs []rule.Config
		want    *rule.Decision
	}{
		{
			name: "seed_example",
			content: `{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1",` +
				`"event_key":"a.gs.cert.1","changes":["id1","id2"]}`,
			configs: configs,
			want: deliver(`{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1",`+
				`"event_key":"a.gs.cert.1","changes":["id1","id2"]}`, configs...),
		},
		{
			name: "event_key_made_and_order_fixed",
			content: ` {"changes":[{"id":"id1","before":null,"after":{"n":1.50}}],"event_status":1,` +
				`"event_type":"cert","event_topic":"gs","event_source":"a","other":"dropped"} `,
			configs: configs[:1],
			want: deliver(`{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1",`+
				`"event_key":"a.gs.cert.1","changes":[{"id":"id1","before":null,"after":{"n":1.50}}]}`, configs[0]),
		},
		{
			name:    "blank_event_key_is_made",
			content: `{"event_source":"s","event_topic":"t","event_type":"y","event_status":"ok","event_key":"","changes":["c"]}`,
			configs: configs[1:],
			want: deliver(`{"event_source":"s","event_topic":"t","event_type":"y","event_status":"ok",`+
				`"event_key":"s.t.y.ok","changes":["c"]}`, configs[1]),
		},
		{
			name:    "escaped_text_stays_text",
			content: `{"event_source":"\u6e90","event_topic":"t\"q","event_type":"y","event_status":"1","changes":["\u2028"]}`,
			configs: configs[1:],
			want: deliver(`{"event_source":"源","event_topic":"t\"q","event_type":"y","event_status":"1",`+
				`"event_key":"源.t\"q.y.1","changes":["\u2028"]}`, configs[1]),
		},
		{
			name:    "missing_source",
			content: `{"event_topic":"gs","event_type":"cert","event_status":"1","changes":["id1"]}`,
			configs: configs,
			want:    reject(rule.CodeParamError, "参数event_source不能为空 (event_source is required)"),
		},
		{
			name:    "null_topic",
			content: `{"event_source":"a","event_topic":null,"event_type":"cert","event_status":"1","changes":["id1"]}`,
			configs: configs,
			want:    reject(rule.CodeParamError, "参数event_topic不能为空 (event_topic is required)"),
		},
		{
			name:    "blank_status",
			content: `{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":" ","changes":["id1"]}`,
			configs: configs,
			want:    reject(rule.CodeParamError, "参数event_status不能为空 (event_status is required)"),
		},
		{
			name:    "no_changes",
			content: `{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1"}`,
			configs: configs,
			want:    reject(rule.CodeParamError, "参数changes不能为空 (changes is required)"),
		},
		{
			name:    "empty_changes",
			content: `{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1","changes":[]}`,
			configs: configs,
			want:    reject(rule.CodeParamError, "参数changes不能为空 (changes is required)"),
		},
		{
			name:    "changes_not_an_array",
			content: `{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1","changes":"id1"}`,
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数changes必须是数组 (changes must be an array)"),
		},
		{
			name:    "type_an_object",
			content: `{"event_source":"a","event_topic":"gs","event_type":{},"event_status":"1","changes":["id1"]}`,
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数event_type必须是字符串 (event_type must be a string)"),
		},
		{
			name:    "key_an_array",
			content: `{"event_source":"a","event_topic":"gs","event_type":"t","event_status":"1","event_key":[],"changes":["id1"]}`,
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数event_key必须是字符串 (event_key must be a string)"),
		},
		{
			name:    "not_json",
			content: `event_source=a`,
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数content不是JSON对象 (content must be a JSON object holding the event)"),
		},
		{
			name:    "json_array",
			content: `[{"event_source":"a"}]`,
			configs: configs,
			want:    reject(rule.CodeInvalidValue, "参数content不是JSON对象 (content must be a JSON object holding the event)"),
		},
		{
			name:    "no_config",
			content: `{"event_source":"a","event_topic":"gs","event_type":"cert","event_status":"1","changes":["id1"]}`,
			want: reject(rule.CodeNoCallbackConfig,
				"the tenant has no callback config: add one with ModifyCallbackConfig first"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &rule.Input{ABI: 1, Rule: "ebaas", Content: tt.content, Configs: tt.configs}
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
		{"seed_success", rule.Answer{StatusCode: 200, Body: `{"request_id":"b372be68","code":"000","msg":"成功"}`},
			rule.Verdict{Verdict: rule.Success}},
		{"success_whatever_the_status", rule.Answer{StatusCode: 500, Body: `{"code":"000"}`},
			rule.Verdict{Verdict: rule.Success}},
		{"seed_error", rule.Answer{StatusCode: 200, Body: `{"code":"500","msg":"服务调用异常，请稍后再试或联系管理员"}`},
			rule.Verdict{Verdict: rule.Retry, Reason: "code 500: 服务调用异常，请稍后再试或联系管理员 (status 200)"}},
		{"param_error_still_retried", rule.Answer{StatusCode: 400, Body: `{"code":"400","msg":"参数event_key不能为空"}`},
			rule.Verdict{Verdict: rule.Retry, Reason: "code 400: 参数event_key不能为空 (status 400)"}},
		{"gone_with_a_code_still_retried", rule.Answer{StatusCode: 410, Body: `{"code":"410"}`},
			rule.Verdict{Verdict: rule.Retry, Reason: "code 410 (status 410)"}},
		{"code_as_a_number", rule.Answer{StatusCode: 200, Body: `{"code":0}`},
			rule.Verdict{Verdict: rule.Retry, Reason: "the answer has no code (status 200)"}},
		{"2xx_without_json", rule.Answer{StatusCode: 200, Body: `OK`},
			rule.Verdict{Verdict: rule.Retry, Reason: "the answer is not a JSON object (status 200)"}},
		{"empty", rule.Answer{Channel: "http"},
			rule.Verdict{Verdict: rule.Retry, Reason: "the answer is not a JSON object"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rule.ClassifyFunc(judge).Judge(&tt.answer); got != tt.want {
				t.Errorf("classify = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestClassify_json(t *testing.T) {
	got := string(rule.ClassifyFunc(judge).ServeJSON(nil,
		[]byte(`{"abi":1,"channel":"http","statusCode":200,"headers":{},"body":"{\"code\":\"000\",\"msg\":\"成功\"}"}`)))
	if want := `{"verdict":"success","reason":""}`; got != want {
		t.Errorf("ServeJSON = %s, want %s", got, want)
	}
}
