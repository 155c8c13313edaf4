package rule_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestDecodeInput(t *testing.T) {
	tests := []struct {
		name string
		json string
		want *rule.Input
	}{
		{
			name: "abi_example",
			json: `{
			  "abi": 1,
			  "tenantId": "demo",
			  "messageId": "msg_01",
			  "rule": "http",
			  "content": "the callback's content",
			  "properties": {"appKey": "demo", "rule": "http",
			                 "ext": {"destination": "a@b.c", "subject": "hi", "anyOtherKey": "x"}},
			  "configs": [{"id": "cfg_01", "url": "https://example.com/cb", "hasKey": true, "hasToken": true},
			              {"id": "cfg_02", "url": "https://example.org/cb", "hasKey": false, "hasToken": false}]
			}`,
			want: &rule.Input{
				ABI: 1, TenantID: "demo", MessageID: "msg_01", Rule: "http", Content: "the callback's content",
				Properties: rule.Properties{AppKey: "demo", Rule: "http",
					Ext: map[string]string{"destination": "a@b.c", "subject": "hi", "anyOtherKey": "x"}},
				Configs: []rule.Config{
					{ID: "cfg_01", URL: "https://example.com/cb", HasKey: true, HasToken: true},
					{ID: "cfg_02", URL: "https://example.org/cb"},
				},
			},
		},
		{
			name: "unknown_fields_skipped",
			json: `{"future":{"a":[1,2,{"b":null}],"c":"\u0041"},"tenantId":"t","more":-1.5e-3,` +
				`"properties":{"new":true,"appKey":"k"},"configs":[{"id":"c","extra":[[]]}]}`,
			want: &rule.Input{TenantID: "t", Properties: rule.Properties{AppKey: "k"}, Configs: []rule.Config{{ID: "c"}}},
		},
		{
			name: "escapes",
			json: `{"content":"\"q\" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \u4f60\u597d"}`,
			want: &rule.Input{Content: "\"q\" \\ / \b\f\n\r\t é 😀 你好"},
		},
		{
			name: "lone_surrogates_and_invalid_utf8_become_replacement",
			json: "{\"content\":\"\\ud800 \\udc00 \\ud800\\u0041 \xff\"}",
			want: &rule.Input{Content: "\uFFFD \uFFFD \uFFFDA \uFFFD"},
		},
		{
			name: "null_is_zero",
			json: `{"abi":null,"tenantId":null,"properties":null,"configs":[null,{"hasKey":null}]}`,
			want: &rule.Input{Configs: []rule.Config{{}, {}}},
		},
		{
			name: "last_repeated_name_wins_whole",
			json: `{"tenantId":"a","tenantId":"b","properties":{"appKey":"k","ext":{"x":"1"}},"properties":{"rule":"r"}}`,
			want: &rule.Input{TenantID: "b", Properties: rule.Properties{Rule: "r"}},
		},
		{
			name: "empty_collections",
			json: `{"properties":{"ext":{}},"configs":[]}`,
			want: &rule.Input{Properties: rule.Properties{Ext: map[string]string{}}, Configs: []rule.Config{}},
		},
		{
			name: "names_match_exactly",
			json: `{"TenantId":"x","tenantid":"y"}`,
			want: &rule.Input{},
		},
		{
			name: "top_level_null",
			json: ` null `,
			want: &rule.Input{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rule.DecodeInput([]byte(tt.json))
			if err != nil {
				t.Fatalf("DecodeInput: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecodeInput\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeInput_errors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string // the error text
	}{
		{"empty", ``, "json: unexpected end of JSON input at offset 0"},
		{"truncated", `{"tenantId":"x`, "json: tenantId: unexpected end of JSON input at offset 14"},
		{"not_an_object", `[]`, "json: want an object, got an array at offset 0"},
		{"trailing_data", `{} {}`, "json: invalid character '{' after top-level value at offset 3"},
		{"trailing_comma", `{"a":1,}`, "json: invalid character '}' looking for beginning of object key string at offset 7"},
		{"missing_colon", `{"a" 1}`, "json: invalid character '1' after object key at offset 5"},
		{"bad_escape", `{"content":"\x"}`, `json: content: invalid character 'x' in string escape code at offset 13`},
		{"bad_unicode_escape", `{"content":"\u12g4"}`, `json: content: invalid character 'g' in \u hexadecimal character escape at offset 16`},
		{"control_character", "{\"content\":\"a\nb\"}", `json: content: invalid character '\n' in string literal at offset 13`},
		{"leading_zero", `{"abi":01}`, "json: invalid character '1' after object key:value pair at offset 8"},
		{"fraction_for_int", `{"abi":1.0}`, "json: abi: want an integer, got 1.0 at offset 7"},
		{"string_for_string_map", `{"properties":{"ext":{"k":1}}}`, "json: properties.ext.k: want a string, got a number at offset 26"},
		{"bool_wanted", `{"configs":[{},{"hasKey":"yes"}]}`, "json: configs[1].hasKey: want true or false, got a string at offset 25"},
		{"bad_literal", `{"x":nul}`, "json: invalid character '}' in literal null (expecting 'l') at offset 8"},
		{"bad_skipped_value", `{"x":[1,2,}`, "json: invalid character '}' looking for beginning of value at offset 10"},
		{"bom", "\ufeff{}", `json: invalid character byte 0xef looking for beginning of value at offset 0`},
		{"too_deep", `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, "json: exceeded max depth at offset 10004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := rule.DecodeInput([]byte(tt.json))
			if err == nil {
				t.Fatal("DecodeInput: no error")
			}
			var de *rule.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T is not a *rule.DecodeError", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestDecodeAnswer(t *testing.T) {
	got, err := rule.DecodeAnswer([]byte(`{"abi": 1, "channel": "http", "statusCode": 200,
		"headers": {"Content-Type": "application/json"}, "body": "{\"code\":\"000\"}", "later": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &rule.Answer{ABI: 1, Channel: "http", StatusCode: 200,
		Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"code":"000"}`}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeAnswer\n got %#v\nwant %#v", got, want)
	}
	if _, err := rule.DecodeAnswer([]byte(`{"statusCode":"200"}`)); err == nil ||
		err.Error() != "json: statusCode: want an integer, got a string at offset 14" {
		t.Errorf("statusCode as a string: error %v", err)
	}
}
