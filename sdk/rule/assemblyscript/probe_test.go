package assemblyscript_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/ruleruntime"
	"github.com/callgate/callgate/sdk/rule"
)

// probe calls testdata/probe.ts with ext.cmd set to cmd and returns the
// decision.
func probe(t *testing.T, cmd string, in Input) []byte {
	t.Helper()
	in.Properties.Ext = map[string]string{"cmd": cmd}
	return route(t, module(t, "probe"), gatewayJSON(t, in)).Output
}

// body returns the body of the decision's only delivery.
func body(t *testing.T, decision []byte) string {
	t.Helper()
	var d struct {
		Deliveries []struct{ Body string }
	}
	if err := json.Unmarshal(decision, &d); err != nil || len(d.Deliveries) != 1 {
		t.Fatalf("want one delivery, got %s (%v)", decision, err)
	}
	return d.Deliveries[0].Body
}

// TestReader sends inputs the gateway would never send but the ABI allows:
// the SDK must read them as Go's encoding/json does.
func TestReader(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct{ name, input string }{
		{"gateway_shape", string(gatewayJSON(t, newInput("hi <there> & you", configs, map[string]string{"k": "v"})))},
		{"whitespace_everywhere", " \t\n{ \"abi\" : 1 ,\r\n \"content\" : \"x\" , \"configs\" : [ { \"id\" : \"a\" , \"hasKey\" : true } , { } ] , " +
			"\"properties\" : { \"ext\" : { \"a\" : \"b\" , \"c\" : null } } } \n"},
		{"unknown_fields_of_every_kind", `{"x":1,"y":-0.5e-3,"z":"s\"\\","w":[true,false,null,{"a":[{}]}],"v":{},"tenantId":"t",` +
			`"configs":[{"id":"c","more":{"deep":[1,2,{"x":"y"}]},"url":"u"}],"properties":{"o":[],"rule":"r"},"u":null}`},
		{"nulls", `{"abi":null,"tenantId":null,"content":null,"properties":{"appKey":null,"ext":null},"configs":[null,{"id":null,"hasKey":null}]}`},
		{"null_properties_and_configs", `{"properties":null,"configs":null,"content":"c"}`},
		{"null_input", `null`},
		{"empty_object", `{}`},
		{"duplicate_members_as_go_does", `{"content":"a","content":"b","properties":{"rule":"x","ext":{"k":"1","k":"2"}},` +
			`"properties":{"appKey":"y"},"configs":[{"id":"1"}],"configs":[{"id":"2"},{"id":"3"}]}`},
		{"escaped_member_names", `{"\u0063ontent":"c","ten\u0061ntId":"t","properties":{"e\u0078t":{"\u00e9\u6c49":"v"}},"con\/figs":[]}`},
		{"escapes", `{"content":"\"\\\/\b\f\n\r\t\u0000\u001f\u0041\u00e9\u6c49\ud83d\ude00\u2028 <&>"}`},
		{"lone_surrogates", `{"content":"a\ud800b\udc00c\ud800\u0041d\ud83d\ud83d\ude00e\udbff"}`},
		{"raw_utf8", `{"content":"é汉😀 \u00e9"}`},
		{"invalid_utf8", "{\"content\":\"a\xffb\xc3\x28c\xe2\x82d\xed\xa0\x80e\xf0\x9f\x98f\xf4\x90\x80\x80g\xc0\xafh\",\"tenantId\":\"\xfe\"}"},
		{"long_strings", `{"content":"` + strings.Repeat(`0123456789\"é\\`, 40) + `","tenantId":"` + strings.Repeat("t", 100) + `"}`},
		{"empty_strings", `{"content":"","tenantId":"","configs":[{"id":"","url":""}],"properties":{"ext":{"":""}}}`},
		{"numbers_for_abi", `{"abi":1,"x":[0,-0,1e5,1E+5,1.5e-5,-12.25]}`},
		{"deep_unknown_field", `{"x":` + deep(9999) + `,"content":"after"}`},
		{"deep_in_config", `{"configs":[{"x":` + deep(9997) + `,"id":"c"}]}`},
		{"ext_order_kept", `{"properties":{"ext":{"z":"1","a":"2","m":"3"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.input)) {
				t.Fatalf("the test input is not JSON: %s", tt.input)
			}
			// The probe's command goes in after the input's own members, as
			// a member of its own: a second "properties" would replace them.
			in := withCmd(t, tt.input, "echo")
			var want, got Input
			if err := json.Unmarshal([]byte(tt.input), &want); err != nil {
				t.Fatal(err)
			}
			want.Properties.Ext = withoutCmd(want.Properties.Ext)
			if len(want.Configs) == 0 {
				want.Configs = []Config{} // the echo has no null
			}
			echo := body(t, route(t, module(t, "probe"), in).Output)
			if err := json.Unmarshal([]byte(echo), &got); err != nil {
				t.Fatalf("%v: %s", err, echo)
			}
			got.Properties.Ext = withoutCmd(got.Properties.Ext)
			if g, w := plainJSON(t, got), plainJSON(t, want); !bytes.Equal(g, w) {
				t.Errorf("read\n got %s\nwant %s", g, w)
			}
		})
	}
}

// withCmd adds ext.cmd to a route input, in a member the probe reads after
// the input's own, so that the input is read as it is otherwise.
func withCmd(t *testing.T, input, cmd string) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(input), &v); err != nil {
		t.Fatal(err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		obj = map[string]any{}
		input = "{}"
	}
	ext := map[string]any{}
	if p, ok := obj["properties"].(map[string]any); ok {
		if e, ok := p["ext"].(map[string]any); ok {
			ext = e
		}
	}
	// Re-send the properties with cmd, after the original members: the
	// last "properties" member wins, as in Go.
	props := map[string]any{"ext": ext}
	if p, ok := obj["properties"].(map[string]any); ok {
		for k, v := range p {
			if k != "ext" {
				props[k] = v
			}
		}
	}
	ext["cmd"] = cmd
	trimmed := strings.TrimRight(input, " \t\r\n")
	trimmed = strings.TrimSuffix(trimmed, "}")
	sep := ","
	if strings.TrimSpace(trimmed) == "{" {
		sep = ""
	}
	return []byte(trimmed + sep + `"properties":` + string(plainJSON(t, props)) + "}")
}

func withoutCmd(ext map[string]string) map[string]string {
	delete(ext, "cmd")
	if len(ext) == 0 {
		return nil
	}
	return ext
}

// TestReader_errors sends inputs that are not JSON, or not of the ABI's
// shape: the SDK rejects them with FailedOperation.RuleError, saying where.
func TestReader_errors(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	tests := []struct{ name, input, says string }{
		{"empty", ``, "unexpected end of JSON input"},
		{"not_json", `hello`, "invalid character"},
		{"array", `[]`, "want an object, got an array"},
		{"truncated", `{"content":"abc`, "unexpected end of JSON input"},
		{"trailing", `{} {}`, "after top-level value"},
		{"string_for_content", `{"content":42}`, "content: want a string, got a number"},
		{"bool_for_hasKey", `{"configs":[{"id":"a"},{"hasKey":"yes"}]}`, "configs[1].hasKey: want true or false, got a string"},
		{"number_for_ext_value", `{"properties":{"ext":{"k":1}}}`, "properties.ext.k: want a string, got a number"},
		{"fraction_for_abi", `{"abi":1.0}`, "abi: want an integer"},
		{"big_abi", `{"abi":9223372036854775808}`, "abi: want an integer"},
		{"control_character", "{\"content\":\"a\x01b\"}", "content: invalid character"},
		{"bad_escape", `{"content":"\x"}`, "content: invalid character"},
		{"bad_unicode_escape", `{"content":"\u12g4"}`, "content: invalid character"},
		{"bad_unknown_field", `{"x":[1,]}`, "invalid character"},
		{"leading_zero", `{"x":01}`, "invalid character"},
		{"missing_colon", `{"content" "x"}`, "invalid character"},
		{"missing_comma", `{"content":"x" "rule":"y"}`, "invalid character"},
		{"too_deep", `{"x":` + deep(10000) + `}`, "invalid character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := route(t, module(t, "probe"), []byte(tt.input)).Output
			var d struct {
				Reject *struct{ Code, Message string }
			}
			if err := json.Unmarshal(out, &d); err != nil || d.Reject == nil {
				t.Fatalf("want a rejection, got %s (%v)", out, err)
			}
			if d.Reject.Code != rule.CodeRuleError || !strings.HasPrefix(d.Reject.Message, "decoding the route input: json: ") ||
				!strings.Contains(d.Reject.Message, tt.says) || !strings.Contains(d.Reject.Message, " at offset ") {
				t.Errorf("got %s, want %s saying %q", out, rule.CodeRuleError, tt.says)
			}
		})
	}
	t.Run("abi_version", func(t *testing.T) {
		in := newInput("x", configs, map[string]string{"cmd": "echo"})
		in.ABI = 2
		want := `{"reject":{"code":"FailedOperation.RuleError","message":"input has ABI version 2, the rule speaks 1"}}`
		if got := route(t, module(t, "probe"), gatewayJSON(t, in)).Output; string(got) != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
}

// TestWriter checks every field of a decision against the Go SDK's
// encoding, byte for byte: the strings the rule makes are escaped by the
// SDK, those it passes on are copied from the input or from the output.
func TestWriter(t *testing.T) {
	contents := []string{
		"", "x", "order 42", strings.Repeat("a", 31), strings.Repeat("b", 32), benchContent,
		"\"\\/\b\f\n\r\t\x00\x1f\x7f é汉😀 \u2028\u2029 <&>",
		strings.Repeat("汉字😀\"", 50),
	}
	for i, content := range contents {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			ext := map[string]string{"cmd": "full", "X-Content": content, "x-é": "<&>\n", "a": ""}
			in := newInput(content, configs, ext)
			got := route(t, module(t, "probe"), plainJSON(t, in)).Output
			want := rule.AppendDecision(nil, wantFull(in))
			if !bytes.Equal(got, want) {
				t.Errorf("decision\n got %s\nwant %s", got, want)
			}
			got = route(t, module(t, "probe"), gatewayJSON(t, in)).Output
			if !sameJSON(t, got, want) {
				t.Errorf("decision from the gateway's input\n got %s\nwant %s", got, want)
			}
		})
	}
}

// wantFull is what testdata/probe.ts's full command answers.
func wantFull(in Input) *rule.Decision {
	c := in.Content
	headers := map[string]string{}
	for k, v := range in.Properties.Ext {
		headers[k] = v
	}
	first := rule.Delivery{
		Channel: "http", ConfigID: in.Configs[0].ID, Destination: c, Method: "POST", Headers: headers,
		Query: map[string]string{"q": c, "n": "1"}, Body: c, BodyBase64: "AAEC", Subject: c,
		Attachments: []rule.Attachment{
			{FileName: "a.pdf", URL: "https://files.example.com/a.pdf"},
			{URL: "https://files.example.com/b"},
		},
		RetrySchedule: []int64{0, 1000, 604800000, 9007199254740993},
		Sign:          "tim",
		Fallbacks:     []rule.Delivery{{Channel: "sms", Destination: "+8613800000000", Body: c}},
	}
	return &rule.Decision{Deliveries: []rule.Delivery{
		first,
		{Channel: "http", ConfigID: in.Configs[0].ID, Body: c},
		{Channel: "http", Destination: "https://c.example.com/cb", Body: c},
	}}
}

func TestWriter_reject(t *testing.T) {
	for _, msg := range []string{"", "plain", "参数subject不能为空 (subject is required)", "\"\\\n\x01 <&> \u2028 😀"} {
		in := newInput("x", configs, map[string]string{"cmd": "reject", "code": "InvalidParameter.ParamError", "message": msg})
		got := route(t, module(t, "probe"), gatewayJSON(t, in)).Output
		want := rule.AppendDecision(nil, &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeParamError, Message: msg}})
		if !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestDecision_invalid(t *testing.T) {
	got := probe(t, "invalid", newInput("x", configs, nil))
	want := `{"reject":{"code":"FailedOperation.RuleError","message":"invalid decision: deliveries[0]: channel is required"}}`
	if string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestThrow: a rule that throws traps, after logging why; the gateway's
// runtime throws the instance away and the rule serves the next call.
func TestThrow(t *testing.T) {
	r := module(t, "probe")
	in := newInput("x", configs, map[string]string{"cmd": "throw"})
	res, err := r.Route(context.Background(), gatewayJSON(t, in))
	if !errors.Is(err, ruleruntime.ErrTrap) {
		t.Fatalf("got %v, want %v", err, ruleruntime.ErrTrap)
	}
	if len(res.Logs) != 1 || res.Logs[0].Level != slog.LevelError ||
		!strings.HasPrefix(res.Logs[0].Text, "boom: x (testdata/probe.ts:") {
		t.Errorf("logs %+v, want the error's message and where", res.Logs)
	}
	if b := probe(t, "top", newInput("x", configs, nil)); body(t, b) != "top-level-values values" {
		t.Errorf("after a trap: %s", b)
	}
}

func TestLog(t *testing.T) {
	before := time.Now().UnixMilli()
	in := newInput(strings.Repeat("é", 2000), configs, map[string]string{"cmd": "log"})
	res := route(t, module(t, "probe"), gatewayJSON(t, in))
	after := time.Now().UnixMilli()
	now, err := strconv.ParseInt(body(t, res.Output), 10, 64)
	if err != nil || now < before || now > after {
		t.Errorf("now_ms gave %s, want between %d and %d", body(t, res.Output), before, after)
	}
	want := []ruleruntime.LogLine{
		// A line is cut at 1 KiB, between characters.
		{Level: slog.LevelDebug, Text: "debug " + strings.Repeat("é", (1024-6)/2)},
		{Level: slog.LevelInfo, Text: "info"},
		{Level: slog.LevelWarn, Text: "warn"},
		{Level: slog.LevelError, Text: "error"},
	}
	if len(res.Logs) != len(want) {
		t.Fatalf("logs %+v, want %+v", res.Logs, want)
	}
	for i := range want {
		if res.Logs[i] != want[i] {
			t.Errorf("log line %d: got %+v, want %+v", i, res.Logs[i], want[i])
		}
	}
}

// TestHeap: what a call allocates is dropped when the next one begins, and
// what the rule's top level allocated stays. Each call here allocates
// about 2 MB: without the reset, the instance would run out of its 16 MiB
// within a few calls.
func TestHeap(t *testing.T) {
	r := module(t, "probe")
	content := strings.Repeat("汉字 and \"text\" ", 6000) // 100 KB
	in := gatewayJSON(t, newInput(content, configs, map[string]string{"cmd": "full"}))
	for i := range 60 {
		res, err := r.Route(context.Background(), in)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		var d struct{ Deliveries []struct{ Body string } }
		if err := json.Unmarshal(res.Output, &d); err != nil || len(d.Deliveries) != 3 || d.Deliveries[2].Body != content {
			t.Fatalf("call %d: %.200s", i, res.Output)
		}
		if i%20 == 0 {
			if b := probe(t, "top", newInput("x", configs, nil)); body(t, b) != "top-level-values values" {
				t.Fatalf("after %d calls: %s", i+1, b)
			}
		}
	}
}

// TestValidJSON compares the SDK's validJSON with Go's json.Valid.
func TestValidJSON(t *testing.T) {
	docs := []string{
		``, ` `, `{}`, `[]`, `[`, `]`, `{]`, `[}`, `{"a":1}`, `{"a" 1}`, `{"a":}`, `{,}`, `{"a":1,}`, `[1,]`, `[,1]`,
		`[1 2]`, `{"a":1 "b":2}`, `"s"`, `"s`, `"\x"`, `"\u00e9"`, `"\u00g9"`, "\"\x01\"", `1`, `-`, `-0`, `01`, `1.`, `1.5`,
		`.5`, `1e`, `1e+`, `1e+5`, `1E-5`, `true`, `tru`, `truee`, `nul`, `null`, `false`, `[true,false,null]`,
		` {"a" : [ 1 , { "b" : "c" } ] } `, `{"a":1}x`, `{"é":"汉😀"}`, `[[[[[]]]]]`, `{"a":{"b":{"c":[{}]}}}`,
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 500) + "1" + strings.Repeat("}", 500), `[1,2` + strings.Repeat(`,"x"`, 100) + `]`,
	}
	for _, doc := range docs {
		in := newInput(doc, configs, nil)
		got := body(t, probe(t, "valid", in))
		if want := strconv.FormatBool(json.Valid([]byte(doc))); got != want {
			t.Errorf("validJSON(%.60q) = %s, want %s", doc, got, want)
		}
	}
}

// TestDefaultClassify: a rule without a classify function judges as the
// gateway does without a classify export.
func TestDefaultClassify(t *testing.T) {
	r := module(t, "probe")
	for status, want := range map[int]string{
		200: `{"verdict":"success","reason":""}`,
		299: `{"verdict":"success","reason":""}`,
		302: `{"verdict":"retry","reason":"status 302"}`,
		500: `{"verdict":"retry","reason":"status 500"}`,
		-1:  `{"verdict":"retry","reason":"status -1"}`,
	} {
		res, err := r.Classify(context.Background(), gatewayJSON(t, Answer{ABI: 1, Channel: "http", StatusCode: status}))
		if err != nil {
			t.Fatal(err)
		}
		if string(res.Output) != want {
			t.Errorf("status %d: got %s, want %s", status, res.Output, want)
		}
	}
}
