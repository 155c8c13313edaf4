package rule_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/callgate/callgate/sdk/rule"
)

// The fuzz targets check the SDK's JSON against encoding/json, natively:
// the decoders must accept exactly the documents encoding/json accepts and
// read the same strings and numbers from them, and the encoders must write
// the bytes encoding/json writes (with HTML escaping off).
//
//	go test ./sdk/rule -run '^$' -fuzz FuzzDecodeInput -fuzztime 1m

var jsonSeeds = []string{
	`{"abi":1,"tenantId":"demo","messageId":"msg_1","rule":"http","content":"{\"a\":1}",` +
		`"properties":{"appKey":"demo","rule":"http","ext":{"destination":"a@b.c","subject":"hi"}},` +
		`"configs":[{"id":"cfg_1","url":"https://example.com/cb","hasKey":true,"hasToken":false}]}`,
	`{"abi":1,"channel":"http","statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"code\":\"000\"}"}`,
	`{"content":"\u00e9\ud83d\ude00\ud800x\udc00\\\/\b\f\n\r\t","unknown":[1,-2.5e+3,true,false,null,{"x":[]}]}`,
	`{"tenantId":"a","tenantId":"b","properties":{"ext":{"k":"v"}},"properties":{"appKey":"k"}}`,
	`{"configs":[null,{"id":null,"hasKey":null}],"ext":null,"abi":null}`,
	`null`, ` {} `, `[]`, `"x"`, `{"abi":1.0}`, `{"abi":1e2}`, `{"abi":-0}`, `{"abi":9223372036854775808}`,
	`{"a":}`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{"a":"\x"}`, `{"a":"\u12"}`, "{\"a\":\"\x01\"}", "{\"a\":\"\xff\"}",
	`{"statusCode":"200"}`, `{"headers":{"a":1}}`, `{"properties":{"ext":[]}}`, `{"configs":{}}`,
	`01`, `1.`, `-`, `1e`, `tru`, `nul`, `{"a":[[[[]]]]}`, "\ufeff{}", `{"TENANTID":"x"}`,
}

// canonicalSeeds are inputs as the gateway writes them (AppendInput), which
// the decoder reads on a fast path: mutated, they probe where it gives up.
func canonicalSeeds() [][]byte {
	return [][]byte{
		rule.AppendInput(nil, &rule.Input{TenantID: "demo", MessageID: "msg_01J9ZB6Q6F3W4K8Y2N5R7T1V0X", Rule: "http",
			Content:    `{"event_type":"order.paid","order":{"id":42,"name":"张三 \"q\""}}`,
			Properties: rule.Properties{AppKey: "demo", Rule: "http"},
			Configs: []rule.Config{{ID: "cfg_a", URL: "https://a.example/hook", HasKey: true, HasToken: true},
				{ID: "cfg_b", URL: "https://b.example/hook?x=1"}}}),
		rule.AppendInput(nil, &rule.Input{Content: "a\x00\u2028\xff", Properties: rule.Properties{
			Ext: map[string]string{"destination": "a@b.c", "subject": "hi \"there\""}}}),
		rule.AppendInput(nil, &rule.Input{Configs: make([]rule.Config, 6)}),
	}
}

func FuzzDecodeInput(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, s := range canonicalSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := rule.DecodeInput(data)
		want, wantErr := refInput(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("DecodeInput(%q): error %v, encoding/json error %v", data, err, wantErr)
		}
		if err != nil {
			var de *rule.DecodeError
			if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(data) {
				t.Fatalf("DecodeInput(%q): error %#v is not a *DecodeError within the input", data, err)
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeInput(%q)\n got %#v\nwant %#v", data, got, want)
		}
	})
}

// FuzzAppendInput: what AppendInput writes is valid JSON that encoding/json
// and DecodeInput both read back as the input (with ABI 1, an empty Ext and
// Configs for nil ones, and each byte of invalid UTF-8 as U+FFFD).
func FuzzAppendInput(f *testing.F) {
	f.Add("demo", "msg_1", "http", `{"a":"<b>"}`, "k", "destination", "a@b.c", "cfg_1", "https://x/?a=1&b=2", true, 2)
	f.Add("", "", "", "", "", "", "", "", "", false, 0)
	f.Add("t\xff", "m\u2028", "r\"", "a\x00b\tc\\", "é😀", "k\x01", "\xed\xa0\x80", "c", "u", true, 5)
	f.Fuzz(func(t *testing.T, tenant, msg, code, content, appKey, k, v, id, url string, hasKey bool, n int) {
		in := &rule.Input{ABI: 7, TenantID: tenant, MessageID: msg, Rule: code, Content: content,
			Properties: rule.Properties{AppKey: appKey, Rule: code, Ext: map[string]string{k: v, "x" + k: content}}}
		for i := range n % 8 {
			in.Configs = append(in.Configs, rule.Config{ID: id + strconv.Itoa(i), URL: url, HasKey: hasKey, HasToken: i%2 == 0})
		}
		if n%3 == 0 {
			in.Properties.Ext = nil
		}
		data := rule.AppendInput(nil, in)
		want := &rule.Input{ABI: rule.ABIVersion, TenantID: validUTF8(tenant), MessageID: validUTF8(msg), Rule: validUTF8(code),
			Content: validUTF8(content), Properties: rule.Properties{AppKey: validUTF8(appKey), Rule: validUTF8(code),
				Ext: map[string]string{}}, Configs: []rule.Config{}}
		for k, v := range in.Properties.Ext {
			want.Properties.Ext[validUTF8(k)] = validUTF8(v)
		}
		for _, c := range in.Configs {
			want.Configs = append(want.Configs, rule.Config{ID: validUTF8(c.ID), URL: validUTF8(c.URL), HasKey: c.HasKey, HasToken: c.HasToken})
		}
		ref, err := refInput(data)
		if err != nil {
			t.Fatalf("AppendInput wrote %q, which encoding/json refuses: %v", data, err)
		}
		if !reflect.DeepEqual(ref, want) {
			t.Fatalf("encoding/json reads AppendInput's %q as\n%#v\nwant %#v", data, ref, want)
		}
		got, err := rule.DecodeInput(data)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeInput(%q) = %#v, %v\nwant %#v", data, got, err, want)
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := rule.DecodeAnswer(data)
		want, wantErr := refAnswer(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("DecodeAnswer(%q): error %v, encoding/json error %v", data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("DecodeAnswer(%q)\n got %#v\nwant %#v", data, got, want)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := rule.Parse(string(data))
		if valid := json.Valid(data); (err == nil) != valid {
			t.Fatalf("Parse(%q): error %v, but json.Valid says %v", data, err, valid)
		}
		if rule.Valid(string(data)) != (err == nil) {
			t.Fatalf("Valid(%q) disagrees with Parse's error %v", data, err)
		}
		if err != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		if got := toAny(v); !reflect.DeepEqual(got, want) {
			t.Fatalf("Parse(%q)\n got %#v\nwant %#v", data, got, want)
		}
		// What AppendJSON writes parses back to the same value.
		out := v.AppendJSON(nil)
		v2, err := rule.Parse(string(out))
		if err != nil {
			t.Fatalf("Parse(AppendJSON) of %q: %v", out, err)
		}
		if !reflect.DeepEqual(toAny(v2), want) {
			t.Fatalf("AppendJSON(%q) = %q, which parses differently", data, out)
		}
	})
}

func FuzzAppendQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\/\b\f\n\r\t\x00\x1f\x7f", "\u2028\u2029", "é😀", "\xff\xfe", "a\xe2\x82", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := rule.AppendQuote([]byte("prefix"), s)
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if w := "prefix" + string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))); string(got) != w {
			t.Fatalf("AppendQuote(%q) = %s, encoding/json writes %s", s, got, w)
		}
		v, err := rule.Parse(string(got[len("prefix"):]))
		if err != nil {
			t.Fatalf("Parse(AppendQuote(%q)): %v", s, err)
		}
		if text, _ := v.Text(); text != validUTF8(s) {
			t.Fatalf("Parse(AppendQuote(%q)) = %q, want %q", s, text, validUTF8(s))
		}
	})
}

func FuzzAppendDecision(f *testing.F) {
	f.Add("http", "cfg_1", "https://example.com/\u2028", "{\"a\":\"<b>\"}", "Content-Type", int64(1000), false)
	f.Add("", "", "", "", "", int64(-1), true)
	f.Add("e\xffmail", "a\x00b", "a@b.c", "\t", "k\"", int64(1<<62), false)
	f.Fuzz(func(t *testing.T, a, b, c, d, e string, n int64, reject bool) {
		dec := &rule.Decision{Deliveries: []rule.Delivery{{
			Channel: a, ConfigID: b, Destination: c, Method: e, Body: d, BodyBase64: b, Subject: c, Sign: e,
			Headers:       map[string]string{e: d, a: c},
			Query:         map[string]string{d: a},
			Attachments:   []rule.Attachment{{FileName: a, URL: b}, {URL: c}},
			RetrySchedule: []int64{n, 0, -n},
			Fallbacks:     []rule.Delivery{{Channel: d, Destination: e, Body: a}},
		}, {Channel: a, Body: d}, {Channel: b, Body: d[len(d)/2:]}}}
		if reject {
			dec.Reject = &rule.Rejection{Code: a, Message: d}
		}
		got := rule.AppendDecision(nil, dec)
		if want := mustMarshal(t, mirrorDecision(dec)); string(got) != want {
			t.Fatalf("AppendDecision\n got %s\nwant %s", got, want)
		}
		v := rule.Verdict{Verdict: a, Reason: d}
		if got, want := string(rule.AppendVerdict(nil, v)), mustMarshal(t, jVerdict(v)); got != want {
			t.Fatalf("AppendVerdict\n got %s\nwant %s", got, want)
		}
	})
}

// decisionSeeds are decisions as rules write them, and as they may: names
// repeated or in other cases, nulls, values of the wrong kind.
var decisionSeeds = []string{
	`{"deliveries":[{"channel":"http","configId":"cfg_a","destination":"https://x/","method":"post",` +
		`"headers":{"Content-Type":"application/json"},"query":{"a":"1"},"body":"{\"a\":1}","bodyBase64":"AAE=",` +
		`"subject":"s","attachments":[{"fileName":"f.pdf","url":"https://x/f.pdf"}],"retrySchedule":[1000,3000],` +
		`"sign":"tim","fallbacks":[{"channel":"sms","destination":"+1","body":"b"}]}]}`,
	`{"reject":{"code":"InvalidParameter.ParamError","message":"m"}}`,
	`{"reject":{"code":"x"},"reject":{"message":"m"},"reject":null,"reject":{}}`,
	`{"deliveries":[{"channel":"a","destination":"x"},{"channel":"z"}],"deliveries":[{"channel":"b"}],"deliveries":[null,null]}`,
	`{"deliveries":[{"headers":{"a":"1"},"headers":{"b":"2","c":null}},{"headers":{"a":1}}]}`,
	`{"deliveries":[{"retrySchedule":[1,2,3],"retrySchedule":[null,5]},{"retrySchedule":[]},{"retrySchedule":null}]}`,
	`{"Deliveries":[{"CHANNEL":"a","channel":"b","ChAnNeL":"c","CONFIGID":"k"}],"deliverieſ":[]}`,
	`{"deliveries":[{"channel":"a","channel":null,"body":null}]}`, `{"deliveries":[{"channel":1}]}`,
	`{"deliveries":{"channel":"sms"}}`, `{"deliveries":[{"retrySchedule":[1.0]}]}`, `{"deliveries":[{"retrySchedule":[1e3]}]}`,
	`{"deliveries":[{"retrySchedule":[-0,9223372036854775807]}]}`, `{"deliveries":[{"retrySchedule":[9223372036854775808]}]}`,
	`{"deliveries":[{"attachments":[{"url":"u"}],"attachments":[{"fileName":"f"},{"url":"v"}]}]}`,
	`null`, `{}`, `[]`, `"x"`, ``, `{"deliveries":`, ` { "deliveries" : [ ] } `, `{"reject":[]}`, `{"reject":{"code":1}}`,
	`{"deliveries":[{"fallbacks":[{"fallbacks":[{"channel":"x"}]}]}],"unknown":[1,{"a":null}]}`,
	"{\"deliveries\":[{\"body\":\"a\xffb \\ud800\"}]}",
}

// FuzzDecodeDecision holds DecodeDecision to what encoding/json reads
// into the same fields: the gateway read decisions so before.
func FuzzDecodeDecision(f *testing.F) {
	for _, s := range decisionSeeds {
		f.Add([]byte(s))
	}
	f.Add(rule.AppendDecision(nil, &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c",
		Headers: map[string]string{"a": "b"}, Body: "x", RetrySchedule: []int64{1}}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := rule.DecodeDecision(data)
		var want refDecision
		wantErr := json.Unmarshal(data, &want)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("DecodeDecision(%q): error %v, encoding/json error %v", data, err, wantErr)
		}
		if err != nil {
			var de *rule.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeDecision(%q): error %#v is not a *DecodeError", data, err)
			}
			return
		}
		if g, w := mustMarshal(t, refOf(got)), mustMarshal(t, want); g != w {
			t.Fatalf("DecodeDecision(%q)\n got %s\nwant %s", data, g, w)
		}
	})
}

// refDecision and refDelivery are the decision as the gateway read it with
// encoding/json: every field written back, nil and empty apart.
type refDecision struct {
	Deliveries []refDelivery `json:"deliveries"`
	Reject     *jRejection   `json:"reject"`
}

type refDelivery struct {
	Channel       string            `json:"channel"`
	ConfigID      string            `json:"configId"`
	Destination   string            `json:"destination"`
	Method        string            `json:"method"`
	Headers       map[string]string `json:"headers"`
	Query         map[string]string `json:"query"`
	Body          string            `json:"body"`
	BodyBase64    string            `json:"bodyBase64"`
	Subject       string            `json:"subject"`
	Attachments   []rule.Attachment `json:"attachments"`
	RetrySchedule []int64           `json:"retrySchedule"`
	Sign          string            `json:"sign"`
	Fallbacks     []refDelivery     `json:"fallbacks"`
}

func refOf(d *rule.Decision) refDecision {
	r := refDecision{Deliveries: refDeliveries(d.Deliveries)}
	if d.Reject != nil {
		r.Reject = &jRejection{Code: d.Reject.Code, Message: d.Reject.Message}
	}
	return r
}

func refDeliveries(ds []rule.Delivery) []refDelivery {
	if ds == nil {
		return nil
	}
	out := make([]refDelivery, len(ds))
	for i, d := range ds {
		out[i] = refDelivery{Channel: d.Channel, ConfigID: d.ConfigID, Destination: d.Destination, Method: d.Method,
			Headers: d.Headers, Query: d.Query, Body: d.Body, BodyBase64: d.BodyBase64, Subject: d.Subject,
			Attachments: d.Attachments, RetrySchedule: d.RetrySchedule, Sign: d.Sign, Fallbacks: refDeliveries(d.Fallbacks)}
	}
	return out
}

// --- the reference: encoding/json's tokens applied with the SDK's rules
// (exact names, null is the zero value, the last of a repeated name wins,
// the first value of the wrong kind is an error).

var errKind = errors.New("value of the wrong kind")

func refDecoder(data []byte) (*json.Decoder, error) {
	if !json.Valid(data) {
		return nil, errors.New("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec, nil
}

func refInput(data []byte) (*rule.Input, error) {
	dec, err := refDecoder(data)
	if err != nil {
		return nil, err
	}
	in := &rule.Input{}
	err = refObject(dec, func(name string) error {
		var err error
		switch name {
		case "abi":
			in.ABI, err = refInt(dec)
		case "tenantId":
			in.TenantID, err = refString(dec)
		case "messageId":
			in.MessageID, err = refString(dec)
		case "rule":
			in.Rule, err = refString(dec)
		case "content":
			in.Content, err = refString(dec)
		case "properties":
			in.Properties = rule.Properties{}
			err = refObject(dec, func(name string) error {
				var err error
				switch name {
				case "appKey":
					in.Properties.AppKey, err = refString(dec)
				case "rule":
					in.Properties.Rule, err = refString(dec)
				case "ext":
					in.Properties.Ext, err = refMap(dec)
				default:
					err = refSkip(dec)
				}
				return err
			})
		case "configs":
			in.Configs = nil
			err = refArray(dec, func() error {
				var c rule.Config
				err := refObject(dec, func(name string) error {
					var err error
					switch name {
					case "id":
						c.ID, err = refString(dec)
					case "url":
						c.URL, err = refString(dec)
					case "hasKey":
						c.HasKey, err = refBool(dec)
					case "hasToken":
						c.HasToken, err = refBool(dec)
					default:
						err = refSkip(dec)
					}
					return err
				})
				in.Configs = append(in.Configs, c)
				return err
			}, func() { in.Configs = []rule.Config{} })
		default:
			err = refSkip(dec)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

func refAnswer(data []byte) (*rule.Answer, error) {
	dec, err := refDecoder(data)
	if err != nil {
		return nil, err
	}
	a := &rule.Answer{}
	err = refObject(dec, func(name string) error {
		var err error
		switch name {
		case "abi":
			a.ABI, err = refInt(dec)
		case "channel":
			a.Channel, err = refString(dec)
		case "statusCode":
			a.StatusCode, err = refInt(dec)
		case "headers":
			a.Headers, err = refMap(dec)
		case "body":
			a.Body, err = refString(dec)
		default:
			err = refSkip(dec)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// refObject reads an object (or null), calling member for each name; member
// must read the value.
func refObject(dec *json.Decoder, member func(name string) error) error {
	_, err := refObjectOrNull(dec, member)
	return err
}

func refObjectOrNull(dec *json.Decoder, member func(name string) error) (isNull bool, err error) {
	tok, _ := dec.Token()
	switch tok {
	case nil:
		return true, nil
	case json.Delim('{'):
	default:
		return false, errKind
	}
	for dec.More() {
		name, _ := dec.Token()
		if err := member(name.(string)); err != nil {
			return false, err
		}
	}
	_, _ = dec.Token() // '}'
	return false, nil
}

// refArray reads an array (or null), calling elem for each element; empty
// is called first for an array, so that [] is an empty slice.
func refArray(dec *json.Decoder, elem func() error, empty func()) error {
	tok, _ := dec.Token()
	switch tok {
	case nil:
		return nil
	case json.Delim('['):
	default:
		return errKind
	}
	empty()
	for dec.More() {
		if err := elem(); err != nil {
			return err
		}
	}
	_, _ = dec.Token() // ']'
	return nil
}

func refMap(dec *json.Decoder) (map[string]string, error) {
	m := map[string]string{}
	isNull, err := refObjectOrNull(dec, func(name string) error {
		v, err := refString(dec)
		m[name] = v
		return err
	})
	if isNull {
		return nil, nil
	}
	return m, err
}

func refString(dec *json.Decoder) (string, error) {
	tok, _ := dec.Token()
	switch tok := tok.(type) {
	case nil:
		return "", nil
	case string:
		return tok, nil
	}
	return "", errKind
}

func refBool(dec *json.Decoder) (bool, error) {
	tok, _ := dec.Token()
	switch tok := tok.(type) {
	case nil:
		return false, nil
	case bool:
		return tok, nil
	}
	return false, errKind
}

func refInt(dec *json.Decoder) (int, error) {
	tok, _ := dec.Token()
	switch tok := tok.(type) {
	case nil:
		return 0, nil
	case json.Number:
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil {
			return 0, errKind
		}
		return int(n), nil
	}
	return 0, errKind
}

func refSkip(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// toAny turns a Value into what encoding/json decodes into an any (with
// UseNumber): the last of a repeated name wins.
func toAny(v rule.Value) any {
	switch v.Kind() {
	case rule.KindNull:
		return nil
	case rule.KindBool:
		b, _ := v.Bool()
		return b
	case rule.KindNumber:
		n, _ := v.Number()
		return json.Number(n)
	case rule.KindString:
		s, _ := v.Text()
		return s
	case rule.KindArray:
		out := []any{}
		for _, e := range v.Items() {
			out = append(out, toAny(e))
		}
		return out
	case rule.KindObject:
		out := map[string]any{}
		for _, m := range v.Members() {
			out[m.Name] = toAny(m.Value)
		}
		return out
	}
	panic(fmt.Sprintf("toAny of kind %v", v.Kind()))
}

// validUTF8 replaces each byte of invalid UTF-8 with U+FFFD, as
// encoding/json does.
func validUTF8(s string) string {
	var b []byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		b = utf8.AppendRune(b, r)
		i += size
	}
	return string(b)
}

// --- mirrors of the ABI's output, for encoding/json to write.

type jDecision struct {
	Deliveries []jDelivery `json:"deliveries"`
}

type jReject struct {
	Reject jRejection `json:"reject"`
}

type jRejection struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type jDelivery struct {
	Channel       string            `json:"channel"`
	ConfigID      string            `json:"configId,omitempty"`
	Destination   string            `json:"destination,omitempty"`
	Method        string            `json:"method,omitempty"`
	Headers       map[string]string `json:"headers,omitempty"`
	Query         map[string]string `json:"query,omitempty"`
	Body          string            `json:"body,omitempty"`
	BodyBase64    string            `json:"bodyBase64,omitempty"`
	Subject       string            `json:"subject,omitempty"`
	Attachments   []jAttachment     `json:"attachments,omitempty"`
	RetrySchedule []int64           `json:"retrySchedule,omitempty"`
	Sign          string            `json:"sign,omitempty"`
	Fallbacks     []jDelivery       `json:"fallbacks,omitempty"`
}

type jAttachment struct {
	FileName string `json:"fileName,omitempty"`
	URL      string `json:"url,omitempty"`
}

type jVerdict struct {
	Verdict string `json:"verdict"`
	Reason  string `json:"reason"`
}

func mirrorDecision(d *rule.Decision) any {
	if d.Reject != nil {
		return jReject{Reject: jRejection(*d.Reject)}
	}
	return jDecision{Deliveries: mirrorDeliveries(d.Deliveries)}
}

func mirrorDeliveries(ds []rule.Delivery) []jDelivery {
	out := []jDelivery{}
	for _, d := range ds {
		j := jDelivery{
			Channel: d.Channel, ConfigID: d.ConfigID, Destination: d.Destination, Method: d.Method,
			Headers: d.Headers, Query: d.Query, Body: d.Body, BodyBase64: d.BodyBase64, Subject: d.Subject,
			RetrySchedule: d.RetrySchedule, Sign: d.Sign,
		}
		for _, a := range d.Attachments {
			j.Attachments = append(j.Attachments, jAttachment(a))
		}
		if len(d.Fallbacks) > 0 {
			j.Fallbacks = mirrorDeliveries(d.Fallbacks)
		}
		out = append(out, j)
	}
	return out
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
