package assemblyscript_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

// benchContent is a callback of about 1.4 KB, typical of an order event (as
// in rules/http's benchmark).
var benchContent = `{"event_type":"order.paid","order":{"id":"ord_20260101_000042","amount":12999,` +
	`"currency":"CNY","buyer":{"id":"u_1001","name":"张三","phone":"+8613800138000"},"items":[` +
	strings.Repeat(`{"sku":"SKU-0001","name":"商品 \"特价\"","qty":1,"price":4333},`, 12) +
	`{"sku":"SKU-0002","name":"gift","qty":1,"price":0}]},"ts":1767225600000}`

// httpCases are callbacks for the http rule.
var httpCases = []struct {
	name    string
	content string
	configs []Config
}{
	{"no_config", "x", nil},
	{"json_object_one_config", `{"event_type":"order.paid","order":42}`, configs[:1]},
	{"json_object_two_configs", `{"event_type":"order.paid","order":42}`, configs},
	{"json_array_with_space", " \n[1, 2]\n", configs},
	{"text", "order 42 paid", configs[1:]},
	{"broken_json_is_text", `{"a":`, configs},
	{"trailing_garbage_is_text", `{"a":1} x`, configs},
	{"json_scalar_is_text", `42`, configs},
	{"json_string_is_text", `"a"`, configs},
	{"empty_content", "", configs},
	{"unicode_and_escapes_json", `{"name":"张三 \"特价\"","emoji":"😀","esc":"\\ \/ \b\f\n\r\t \u0001 \u2028 \ud83d\ude00",` +
		`"html":"<a href='x'>&amp;</a>","n":[-0.5e+10,true,false,null,{}]}`, configs},
	{"unicode_and_escapes_text", "张三 \"q\" \\ \n\t\r \x01\x1f\x7f \u2028\u2029 😀 <&> é", configs},
	{"invalid_utf8_text", "a\xffb\xc3(c\xed\xa0\x80d", configs},
	{"long_text", strings.Repeat("abc \"", 300), configs},
	{"large_json", benchContent, configs},
	// Past 64 KiB of input, the SDK finds a string's end before decoding it.
	{"huge_json", "[" + strings.Repeat(`"汉字 <\"é\">",`, 8000) + "1]", configs},
	{"huge_text", strings.Repeat("汉字 <\\\"é\"> \x01", 8000), configs},
}

// wantHTTP is the http rule's decision for in, made and encoded with the Go
// SDK: what rules/http answers.
func wantHTTP(in Input) []byte {
	if len(in.Configs) == 0 {
		return rule.AppendDecision(nil, &rule.Decision{Reject: &rule.Rejection{Code: rule.CodeNoCallbackConfig,
			Message: "the tenant has no callback config: add one with ModifyCallbackConfig first"}})
	}
	contentType := "text/plain; charset=utf-8"
	if t := strings.TrimLeft(in.Content, " \t\r\n"); t != "" && (t[0] == '{' || t[0] == '[') && json.Valid([]byte(in.Content)) {
		contentType = "application/json"
	}
	d := &rule.Decision{}
	for _, c := range in.Configs {
		d.Deliveries = append(d.Deliveries, rule.Delivery{Channel: "http", ConfigID: c.ID, Destination: c.URL,
			Method: "POST", Headers: map[string]string{"Content-Type": contentType}, Body: in.Content})
	}
	return rule.AppendDecision(nil, d)
}

func TestHTTP_route(t *testing.T) {
	as, goRule := module(t, "http"), module(t, "go_http")
	for _, tc := range httpCases {
		t.Run(tc.name, func(t *testing.T) {
			in := newInput(tc.content, tc.configs, nil)
			// The Go SDK encodes the content's invalid UTF-8 as json.Marshal does.
			in.Content = strings.ToValidUTF8(in.Content, "\uFFFD")
			want := wantHTTP(in)

			// As the gateway sends it ('<' as \u003c): the same decision.
			got := route(t, as, gatewayJSON(t, in)).Output
			if !sameJSON(t, got, want) {
				t.Errorf("gateway's input:\n got %s\nwant %s", got, want)
			}
			// Strings escaped as the Go SDK escapes them: the same bytes as
			// the Go SDK's, and as the built-in rule's.
			plain := plainJSON(t, in)
			got = route(t, as, plain).Output
			if !bytes.Equal(got, want) {
				t.Errorf("plain input:\n got %s\nwant %s", got, want)
			}
			if goOut := route(t, goRule, plain).Output; !bytes.Equal(got, goOut) {
				t.Errorf("the Go rule answers otherwise:\n   as %s\n   go %s", got, goOut)
			}
		})
	}
}

// TestHTTP_route_sizes sends contents of every size up to a few hundred
// bytes, around the SDK's fast paths (eight bytes at a time, strings of 32
// bytes and more copied rather than encoded).
func TestHTTP_route_sizes(t *testing.T) {
	as := module(t, "http")
	unit := `{"k":"é\"😀\\ <x>","n":1}`
	for n := 0; n < 300; n++ {
		content := strings.Repeat("a", n%9) + strings.Repeat(unit, n/9)
		if n%2 == 1 {
			content = "[" + strings.Repeat(unit+",", n/9) + `"z"]`
		}
		in := newInput(content, configs, nil)
		want := wantHTTP(in)
		if got := route(t, as, plainJSON(t, in)).Output; !bytes.Equal(got, want) {
			t.Fatalf("content %q:\n got %s\nwant %s", content, got, want)
		}
		if got := route(t, as, gatewayJSON(t, in)).Output; !sameJSON(t, got, want) {
			t.Fatalf("content %q from the gateway:\n got %s\nwant %s", content, got, want)
		}
	}
}

// Answer is the classify input, as the gateway encodes it.
type Answer struct {
	ABI        int               `json:"abi"`
	Channel    string            `json:"channel"`
	StatusCode int               `json:"statusCode"`
	Headers    map[string]string `json:"headers"`
	Body       string            `json:"body"`
}

func TestHTTP_classify(t *testing.T) {
	as := module(t, "http")
	ctx := context.Background()
	for _, status := range []int{0, 100, 199, 200, 201, 204, 299, 300, 301, 404, 429, 500, 503} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			in := gatewayJSON(t, Answer{ABI: 1, Channel: "http", StatusCode: status,
				Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"code":"000"}`})
			want := `{"verdict":"retry","reason":"status ` + strconv.Itoa(status) + `"}`
			if status >= 200 && status <= 299 {
				want = `{"verdict":"success","reason":""}`
			}
			res, err := as.Classify(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if string(res.Output) != want {
				t.Errorf("classify %s\n got %s\nwant %s", in, res.Output, want)
			}
			// The built-in Go rule has no classify export (the gateway
			// judges for it); the Go SDK's default judges alike.
			if goOut := rule.ClassifyFunc(rule.DefaultClassify).ServeJSON(nil, in); !bytes.Equal(res.Output, goOut) {
				t.Errorf("the Go SDK answers otherwise:\n   as %s\n   go %s", res.Output, goOut)
			}
		})
	}
	t.Run("unknown_fields_and_nulls", func(t *testing.T) {
		in := `{"extra":[1,{"a":null},"\u00e9"],"abi":1,"channel":null,"statusCode":204,` +
			`"headers":{"Content-Type":"application/json","X-Null":null},"body":null,"more":{}}`
		res, err := as.Classify(ctx, []byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if want := `{"verdict":"success","reason":""}`; string(res.Output) != want {
			t.Errorf("got %s, want %s", res.Output, want)
		}
	})
	for _, in := range []string{``, `null x`, `{"statusCode":"200"}`, `{"statusCode":200.5}`, `{"statusCode":1e2}`,
		`{"statusCode":99999999999999999999}`, `{"headers":{"a":1}}`, `[200]`, `{"statusCode":200`, `{"body":"\x01"}`} {
		t.Run("malformed", func(t *testing.T) {
			res, err := as.Classify(ctx, []byte(in))
			if err != nil {
				t.Fatal(err)
			}
			var v struct{ Verdict, Reason string }
			if err := json.Unmarshal(res.Output, &v); err != nil {
				t.Fatalf("%v: %s", err, res.Output)
			}
			if v.Verdict != "retry" || !strings.HasPrefix(v.Reason, "decoding the classify input: json: ") {
				t.Errorf("classify %q: got %s, want a retry saying why", in, res.Output)
			}
		})
	}
}
