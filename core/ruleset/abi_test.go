package ruleset

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callgate/callgate/core/route"
)

// The gateway read decisions with encoding/json into tagged structs and
// wrote inputs with it; the tests below hold the SDK's codec, which it uses
// now, to exactly what that did.

// jsonDecision is the decision as encoding/json read it.
type jsonDecision struct {
	Deliveries []jsonDelivery `json:"deliveries"`
	Reject     *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"reject"`
}

type jsonDelivery struct {
	Channel     string            `json:"channel"`
	ConfigID    string            `json:"configId"`
	Destination string            `json:"destination"`
	Method      string            `json:"method"`
	Headers     map[string]string `json:"headers"`
	Query       map[string]string `json:"query"`
	Body        string            `json:"body"`
	BodyBase64  string            `json:"bodyBase64"`
	Subject     string            `json:"subject"`
	Attachments []struct {
		FileName string `json:"fileName"`
		URL      string `json:"url"`
	} `json:"attachments"`
	RetrySchedule []int64        `json:"retrySchedule"`
	Sign          string         `json:"sign"`
	Fallbacks     []jsonDelivery `json:"fallbacks"`
}

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
	`{"deliveries":[{"channel":"a","channel":null,"body":null}]}`,
	`{"deliveries":[{"channel":1}]}`, `{"deliveries":{"channel":"sms"}}`, `{"deliveries":[{"retrySchedule":[1.0]}]}`,
	`{"deliveries":[{"retrySchedule":[1e3]}]}`, `{"deliveries":[{"retrySchedule":[-0,9223372036854775807]}]}`,
	`{"deliveries":[{"retrySchedule":[9223372036854775808]}]}`, `{"deliveries":[{"attachments":[{"url":"u"}],` +
		`"attachments":[{"fileName":"f"},{"url":"v"}]}]}`, `null`, `{}`, `[]`, `"x"`, ``, `{"deliveries":`,
	`{"deliveries":[{"fallbacks":[{"fallbacks":[{"channel":"x"}]}]}],"unknown":[1,{"a":null}]}`,
	`{"deliveries":[{"channel":"http","configId":"cfg_b","retrySchedule":[1,-1]}]}`, `{"deliveries":[{"configId":"nope"}]}`,
	`{"deliveries":[{"bodyBase64":"!!"},{"fallbacks":[{},{},{},{},{},{}]}]}`,
	"{\"deliveries\":[{\"body\":\"a\xffb \\ud800\"}]}", `{"reject":[]}`, `{"reject":{"code":1}}`,
}

// FuzzDecodeDecision holds decodeDecision to what it did with
// encoding/json: the same decision or an error, for any answer.
func FuzzDecodeDecision(f *testing.F) {
	for _, s := range decisionSeeds {
		f.Add([]byte(s))
	}
	configs := []route.Config{{ID: "cfg_a", URL: "https://a/"}, {ID: "cfg_b", URL: "https://b/"}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, err := decodeDecision(raw, configs)
		want, wantErr := jsonDecodeDecision(raw, configs)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("decodeDecision(%q): error %v, with encoding/json %v", raw, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeDecision(%q)\n got %+v\nwant %+v", raw, got, want)
		}
	})
}

func TestDecodeDecision_seeds(t *testing.T) {
	configs := []route.Config{{ID: "cfg_a", URL: "https://a/"}}
	for _, s := range decisionSeeds {
		got, err := decodeDecision([]byte(s), configs)
		want, wantErr := jsonDecodeDecision([]byte(s), configs)
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("decodeDecision(%q) = %+v, %v\nwith encoding/json %+v, %v", s, got, err, want, wantErr)
		}
	}
}

// jsonDecodeDecision is decodeDecision as it was, with encoding/json.
func jsonDecodeDecision(raw []byte, configs []route.Config) (route.Decision, error) {
	var d jsonDecision
	if err := json.Unmarshal(raw, &d); err != nil {
		return route.Decision{}, err
	}
	if d.Reject != nil {
		if d.Reject.Message == "" {
			d.Reject.Message = "rejected by the rule"
		}
		return route.Decision{Reject: &route.Rejection{Code: d.Reject.Code, Message: d.Reject.Message}}, nil
	}
	urls := make(map[string]string, len(configs))
	for _, c := range configs {
		urls[c.ID] = c.URL
	}
	var out route.Decision
	for i, od := range d.Deliveries {
		rd, err := jsonToDelivery(od, urls, 0)
		if err != nil {
			return route.Decision{}, fmt.Errorf("delivery %d: %w", i, err)
		}
		out.Deliveries = append(out.Deliveries, rd)
	}
	return out, nil
}

func jsonToDelivery(od jsonDelivery, urls map[string]string, depth int) (route.Delivery, error) {
	rd := route.Delivery{
		Channel: od.Channel, ConfigID: od.ConfigID, Destination: od.Destination,
		Method: strings.ToUpper(od.Method), Headers: od.Headers, Query: od.Query,
		Body: []byte(od.Body), Subject: od.Subject, Sign: od.Sign,
	}
	if od.ConfigID != "" {
		u, ok := urls[od.ConfigID]
		if !ok {
			return route.Delivery{}, fmt.Errorf("config %q is not one of the tenant's", od.ConfigID)
		}
		if rd.Destination == "" {
			rd.Destination = u
		}
	}
	if od.BodyBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(od.BodyBase64)
		if err != nil {
			return route.Delivery{}, fmt.Errorf("bodyBase64: %w", err)
		}
		rd.Body = b
	}
	for _, a := range od.Attachments {
		rd.Attachments = append(rd.Attachments, route.Attachment{FileName: a.FileName, URL: a.URL})
	}
	if od.RetrySchedule != nil {
		if len(od.RetrySchedule) > 50 {
			return route.Delivery{}, fmt.Errorf("retrySchedule has %d entries, at most 50", len(od.RetrySchedule))
		}
		rd.Schedule = make([]time.Duration, 0, len(od.RetrySchedule))
		for _, ms := range od.RetrySchedule {
			if ms < 0 || ms > int64(7*24*time.Hour/time.Millisecond) {
				return route.Delivery{}, fmt.Errorf("retrySchedule delay %d ms is out of range", ms)
			}
			rd.Schedule = append(rd.Schedule, time.Duration(ms)*time.Millisecond)
		}
	}
	if len(od.Fallbacks) > 0 {
		if depth > 0 {
			return route.Delivery{}, fmt.Errorf("a fallback cannot have fallbacks of its own")
		}
		if len(od.Fallbacks) > 5 {
			return route.Delivery{}, fmt.Errorf("%d fallbacks, at most 5", len(od.Fallbacks))
		}
		for j, f := range od.Fallbacks {
			fd, err := jsonToDelivery(f, urls, depth+1)
			if err != nil {
				return route.Delivery{}, fmt.Errorf("fallback %d: %w", j, err)
			}
			rd.Fallbacks = append(rd.Fallbacks, fd)
		}
	}
	return rd, nil
}

// jsonInput is the route input as encoding/json wrote it.
type jsonInput struct {
	ABI        int    `json:"abi"`
	TenantID   string `json:"tenantId"`
	MessageID  string `json:"messageId"`
	Rule       string `json:"rule"`
	Content    string `json:"content"`
	Properties struct {
		AppKey string            `json:"appKey,omitempty"`
		Rule   string            `json:"rule"`
		Ext    map[string]string `json:"ext"`
	} `json:"properties"`
	Configs []route.Config `json:"configs"`
}

func FuzzEncodeInput(f *testing.F) {
	f.Add("t1", "msg_1", "http", `{"a":"<b>&"}`, "k", "destination", "a@b.c", "cfg_1", "https://x/?a=1&b=2", true)
	f.Add("", "", "", "", "", "", "", "", "", false)
	f.Add("t\xff", "m\u2028", "r\"", "a\x00b\tc\\", "é😀", "k\x01", "\xed\xa0\x80", "c", "u", true)
	f.Fuzz(func(t *testing.T, tenant, msg, code, content, appKey, k, v, id, url string, hasKey bool) {
		in := route.Input{TenantID: tenant, MessageID: msg, Rule: code, Content: content, AppKey: appKey,
			Ext: map[string]string{k: v, "x" + k: content}, Configs: []route.Config{{ID: id, URL: url, HasKey: hasKey}, {ID: url}}}
		if len(content)%3 == 0 {
			in.Ext, in.Configs = nil, nil
		}
		got, err := encodeInput(in)
		if err != nil {
			t.Fatal(err)
		}
		// What encoding/json wrote, and what reading either gives.
		want := jsonInput{ABI: abiVersion, TenantID: in.TenantID, MessageID: in.MessageID, Rule: in.Rule, Content: in.Content,
			Configs: append([]route.Config{}, in.Configs...)}
		want.Properties.AppKey, want.Properties.Rule, want.Properties.Ext = in.AppKey, in.Rule, in.Ext
		if want.Properties.Ext == nil {
			want.Properties.Ext = map[string]string{}
		}
		wantJSON, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("encodeInput wrote invalid JSON %q: %v", got, err)
		}
		if err := json.Unmarshal(wantJSON, &w); err != nil {
			t.Fatal(err)
		}
		// encoding/json left an empty appKey out; the ABI reads both alike.
		if p := g.(map[string]any)["properties"].(map[string]any); p["appKey"] == "" {
			delete(p, "appKey")
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("encodeInput\n got %s\nwant %s", got, wantJSON)
		}
	})
}

func TestDecodeDecision_configs(t *testing.T) {
	configs := []route.Config{{ID: "a", URL: "https://a/1"}, {ID: "b", URL: "https://b/"}, {ID: "a", URL: "https://a/2"}}
	d, err := decodeDecision([]byte(`{"deliveries":[{"channel":"http","configId":"a","method":"Post"},`+
		`{"channel":"http","configId":"b","destination":"https://elsewhere/"}]}`), configs)
	if err != nil {
		t.Fatal(err)
	}
	want := route.Decision{Deliveries: []route.Delivery{
		{Channel: "http", ConfigID: "a", Destination: "https://a/2", Method: "POST", Body: []byte{}},
		{Channel: "http", ConfigID: "b", Destination: "https://elsewhere/", Body: []byte{}},
	}}
	if !reflect.DeepEqual(d, want) {
		t.Errorf("decodeDecision = %+v\nwant %+v", d, want)
	}
	if _, err := decodeDecision([]byte(`{"deliveries":[{"channel":"http","configId":"c"}]}`), configs); err == nil ||
		!strings.Contains(err.Error(), `config "c" is not one of the tenant's`) {
		t.Errorf("unknown config: %v", err)
	}
}

// BenchmarkCodec is the host's share of a route call: the input written,
// the decision of the http rule read, for a tenant with two configs.
func BenchmarkCodec(b *testing.B) {
	in := route.Input{TenantID: "t1", MessageID: "msg_01J9ZB6Q6F3W4K8Y2N5R7T1V0X", Rule: "http", AppKey: "t1",
		Content: `{"event_type":"order.paid","order":{"id":42,"amount":"19.90","currency":"EUR"}}`,
		Configs: []route.Config{{ID: "cfg_a", URL: "https://a.example/hook", HasKey: true, HasToken: true},
			{ID: "cfg_b", URL: "https://b.example/hook?x=1"}}}
	raw := []byte(`{"deliveries":[{"channel":"http","configId":"cfg_a","destination":"https://a.example/hook",` +
		`"method":"POST","headers":{"Content-Type":"application/json"},"body":` +
		`"{\"event_type\":\"order.paid\",\"order\":{\"id\":42,\"amount\":\"19.90\",\"currency\":\"EUR\"}}"},` +
		`{"channel":"http","configId":"cfg_b","destination":"https://b.example/hook?x=1","method":"POST",` +
		`"headers":{"Content-Type":"application/json"},"body":` +
		`"{\"event_type\":\"order.paid\",\"order\":{\"id\":42,\"amount\":\"19.90\",\"currency\":\"EUR\"}}"}]}`)
	b.Run("encode_input", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeInput(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decode_decision", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeDecision(raw, in.Configs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
