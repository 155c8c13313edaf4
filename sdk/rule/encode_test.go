package rule_test

import (
	"testing"

	"github.com/callgate/callgate/sdk/rule"
)

func TestAppendDecision(t *testing.T) {
	tests := []struct {
		name string
		d    *rule.Decision
		want string
	}{
		{"nil", nil, `{"deliveries":[]}`},
		{"empty", &rule.Decision{}, `{"deliveries":[]}`},
		{
			name: "reject_wins",
			d: &rule.Decision{
				Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c"}},
				Reject:     &rule.Rejection{Code: rule.CodeParamError, Message: "参数subject不能为空"},
			},
			want: `{"reject":{"code":"InvalidParameter.ParamError","message":"参数subject不能为空"}}`,
		},
		{
			name: "minimal",
			d:    &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "cfg_1"}}},
			want: `{"deliveries":[{"channel":"http","configId":"cfg_1"}]}`,
		},
		{
			name: "every_field",
			d: &rule.Decision{Deliveries: []rule.Delivery{{
				Channel: "http", ConfigID: "cfg_01", Destination: "https://example.com/cb", Method: "POST",
				Headers:       map[string]string{"X-B": "2", "Content-Type": "application/json"},
				Query:         map[string]string{"CallbackCommand": "C2C.CallbackAfterSendMsg"},
				Body:          `{"a":"<b>"}`,
				BodyBase64:    "AAE=",
				Subject:       "for e-mail",
				Attachments:   []rule.Attachment{{FileName: "invoice.pdf", URL: "https://x/invoice.pdf"}, {URL: "https://x/y"}},
				RetrySchedule: []int64{1000, 3000, 7000},
				Sign:          "tim",
				Fallbacks:     []rule.Delivery{{Channel: "sms2", Destination: "+8613800000000", Body: "..."}},
			}}},
			want: `{"deliveries":[{"channel":"http","configId":"cfg_01","destination":"https://example.com/cb",` +
				`"method":"POST","headers":{"Content-Type":"application/json","X-B":"2"},` +
				`"query":{"CallbackCommand":"C2C.CallbackAfterSendMsg"},"body":"{\"a\":\"<b>\"}","bodyBase64":"AAE=",` +
				`"subject":"for e-mail","attachments":[{"fileName":"invoice.pdf","url":"https://x/invoice.pdf"},{"url":"https://x/y"}],` +
				`"retrySchedule":[1000,3000,7000],"sign":"tim",` +
				`"fallbacks":[{"channel":"sms2","destination":"+8613800000000","body":"..."}]}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(rule.AppendDecision(nil, tt.d)); got != tt.want {
				t.Errorf("AppendDecision\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAppendQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain text", `"plain text"`},
		{"\"\\/", `"\"\\/"`},
		{"\b\f\n\r\t\x00\x1f\x7f", `"\b\f\n\r\t\u0000\u001f` + "\x7f" + `"`},
		{"<&>", `"<&>"`},
		{"é😀你好", `"é😀你好"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"a\xffb\xe2\x82", `"a\ufffdb\ufffd\ufffd"`},
	}
	for _, tt := range tests {
		if got := string(rule.AppendQuote(nil, tt.in)); got != tt.want {
			t.Errorf("AppendQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestAppendVerdict(t *testing.T) {
	got := string(rule.AppendVerdict(nil, rule.Verdict{Verdict: rule.Retry, Reason: `code "500"`}))
	if want := `{"verdict":"retry","reason":"code \"500\""}`; got != want {
		t.Errorf("AppendVerdict = %s, want %s", got, want)
	}
}

func TestDecision_Validate(t *testing.T) {
	tests := []struct {
		name string
		d    *rule.Decision
		want string // the error text; empty for valid
	}{
		{"nil", nil, ""},
		{"no_deliveries", &rule.Decision{}, ""},
		{"config_id", &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c"}}}, ""},
		{"destination", &rule.Decision{Deliveries: []rule.Delivery{{Channel: "sms", Destination: "+86"}}}, ""},
		{"reject", &rule.Decision{Reject: &rule.Rejection{Code: "X"}}, ""},
		{"reject_without_code", &rule.Decision{Reject: &rule.Rejection{Message: "m"}}, "reject: code is required"},
		{"no_channel", &rule.Decision{Deliveries: []rule.Delivery{{ConfigID: "c"}}}, "deliveries[0]: channel is required"},
		{"no_destination", &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c"}, {Channel: "http"}}},
			"deliveries[1]: configId or destination is required"},
		{"negative_delay", &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c", RetrySchedule: []int64{1, -1}}}},
			"deliveries[0]: retrySchedule has a negative delay"},
		{"attachment_without_url", &rule.Decision{Deliveries: []rule.Delivery{{Channel: "email", Destination: "a@b.c",
			Attachments: []rule.Attachment{{FileName: "f"}}}}}, "deliveries[0].attachments[0]: url is required"},
		{"bad_fallback", &rule.Decision{Deliveries: []rule.Delivery{{Channel: "http", ConfigID: "c",
			Fallbacks: []rule.Delivery{{Channel: "sms"}}}}}, "deliveries[0].fallbacks[0]: configId or destination is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.d.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}
