package gateway_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// succeeded reports whether a delivery is done.
func succeeded(d *callgatev1.GetDeliveryResponse) bool {
	return d.GetDelivery().GetStatus() == "succeeded"
}

// checkRetriedThenDelivered checks the attempts of a delivery whose rule
// judged a 200 answer a failure once, then a success.
func checkRetriedThenDelivered(t *testing.T, d *callgatev1.GetDeliveryResponse, firstReason string) {
	t.Helper()
	at := d.GetAttempts()
	if len(at) != 2 {
		t.Fatalf("attempts = %v, want 2", at)
	}
	if at[0].GetOutcome() != "retryable" || at[0].GetStatusCode() != 200 || !strings.Contains(at[0].GetError(), firstReason) {
		t.Errorf("first attempt = %v, want retryable with status 200 and an error saying %q", at[0], firstReason)
	}
	if at[1].GetOutcome() != "delivered" || at[1].GetStatusCode() != 200 {
		t.Errorf("second attempt = %v, want delivered", at[1])
	}
}

// TestEBaaSRule: the ebaas rule sends the EBaaS envelope, with event_key
// made from the event's fields, and its classify export retries a 200
// answer whose body says a code other than "000".
func TestEBaaSRule(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	hk := newHook(t, func(n int, _ hit) (int, string) {
		if n == 1 {
			return http.StatusOK, `{"code":"500","msg":"busy"}`
		}
		return http.StatusOK, `{"code":"000","msg":"ok"}`
	})
	addConfig(t, r, devSecret, hk.URL, "", "")

	content := `{"event_source":"crm","event_topic":"order","event_type":"paid","event_status":1,` +
		`"changes":[{"field":"amount","old":1,"new":2}],"not_in_envelope":true}`
	status, env := submit(t, r, devSecret, "demo", "ebaas", content, nil)
	if status != http.StatusOK || env.Code != "OK" || len(env.Result.DeliveryIDs) != 1 {
		t.Fatalf("submit: %d %+v", status, env)
	}
	got := hk.wait(t, 15*time.Second, "the retry", func(h []hit) bool { return len(h) >= 2 })
	if string(got[0].Body) != string(got[1].Body) {
		t.Errorf("the retry sent other bytes:\n%s\n%s", got[0].Body, got[1].Body)
	}
	if ct := got[0].Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var envelope map[string]any
	if err := json.Unmarshal(got[0].Body, &envelope); err != nil {
		t.Fatalf("body is not JSON: %q", got[0].Body)
	}
	want := map[string]any{
		"event_source": "crm", "event_topic": "order", "event_type": "paid", "event_status": "1",
		"event_key": "crm.order.paid.1",
		"changes":   []any{map[string]any{"field": "amount", "old": 1.0, "new": 2.0}},
	}
	if !reflect.DeepEqual(envelope, want) {
		t.Errorf("envelope = %v\nwant       %v", envelope, want)
	}

	d := waitDelivery(t, r, devSecret, env.Result.DeliveryIDs[0], 10*time.Second, "the delivery to succeed", succeeded)
	if d.GetDelivery().GetRule() != "ebaas" || d.GetDelivery().GetChannel() != "http" {
		t.Errorf("delivery = %v", d.GetDelivery())
	}
	checkRetriedThenDelivered(t, d, "code 500")
	time.Sleep(300 * time.Millisecond)
	if n := len(hk.got()); n != 2 {
		t.Errorf("the hook got %d requests after the success, want 2", n)
	}

	for _, tc := range []struct {
		name, content, code, says string
	}{
		{"missing_event_topic", `{"event_source":"crm","event_type":"paid","event_status":"1","changes":[{}]}`,
			"InvalidParameter.ParamError", "event_topic"},
		{"empty_changes", `{"event_source":"crm","event_topic":"o","event_type":"paid","event_status":"1","changes":[]}`,
			"InvalidParameter.ParamError", "changes"},
		{"not_an_object", `[1,2]`, "InvalidParameterValue", "content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, env := submit(t, r, devSecret, "demo", "ebaas", tc.content, nil)
			if status != http.StatusBadRequest || env.Code != tc.code || !strings.Contains(env.Message, tc.says) {
				t.Errorf("got %d %+v, want 400 %s saying %q", status, env, tc.code, tc.says)
			}
		})
	}
}

// TestTIMRule: the tim rule puts Tencent IM's query on the request, the
// http sender signs it with the config's token (checked here as a receiver
// would, from the protocol's definition), and only ActionStatus OK with
// ErrorCode 0 is a success.
func TestTIMRule(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	const token = "tim-callback-token"
	hk := newHook(t, func(n int, _ hit) (int, string) {
		if n == 1 {
			return http.StatusOK, `{"ActionStatus":"FAIL","ErrorCode":1,"ErrorInfo":"try later"}`
		}
		return http.StatusOK, `{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""}`
	})
	addConfig(t, r, devSecret, hk.URL, "", token)

	content := `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"alice","To_Account":"bob","MsgBody":[]}`
	status, env := submit(t, r, devSecret, "demo", "tim", content,
		map[string]string{"sdkAppid": "1400000001", "clientIP": "203.0.113.7"})
	if status != http.StatusOK || env.Code != "OK" || len(env.Result.DeliveryIDs) != 1 {
		t.Fatalf("submit: %d %+v", status, env)
	}
	got := hk.wait(t, 15*time.Second, "the retry", func(h []hit) bool { return len(h) >= 2 })
	for i, h := range got {
		q := h.Query
		for k, v := range map[string]string{
			"SdkAppid": "1400000001", "CallbackCommand": "C2C.CallbackAfterSendMsg",
			"contenttype": "json", "ClientIP": "203.0.113.7",
		} {
			if q.Get(k) != v {
				t.Errorf("request %d: %s = %q, want %q (query %v)", i, k, q.Get(k), v, q)
			}
		}
		rt := q.Get("RequestTime")
		secs, err := strconv.ParseInt(rt, 10, 64)
		if err != nil || time.Since(time.Unix(secs, 0)).Abs() > 10*time.Minute {
			t.Errorf("request %d: RequestTime = %q, want Unix seconds of about now", i, rt)
		}
		sum := sha256.Sum256([]byte(token + rt))
		if want := hex.EncodeToString(sum[:]); q.Get("Sign") != want {
			t.Errorf("request %d: Sign = %q, want hex(sha256(token+RequestTime)) = %q", i, q.Get("Sign"), want)
		}
		if string(h.Body) != content {
			t.Errorf("request %d: body = %q, want the content unchanged", i, h.Body)
		}
	}
	d := waitDelivery(t, r, devSecret, env.Result.DeliveryIDs[0], 10*time.Second, "the delivery to succeed", succeeded)
	checkRetriedThenDelivered(t, d, "ErrorCode 1")

	for _, tc := range []struct {
		name, content string
		ext           map[string]string
		code          string
	}{
		{"no_sdk_app_id", content, nil, "InvalidParameter.ParamError"},
		{"sdk_app_id_not_digits", content, map[string]string{"sdkAppid": "14x"}, "InvalidParameterValue"},
		{"no_callback_command", `{"From_Account":"alice"}`, map[string]string{"sdkAppid": "1"}, "InvalidParameter.ParamError"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, env := submit(t, r, devSecret, "demo", "tim", tc.content, tc.ext); status != http.StatusBadRequest || env.Code != tc.code {
				t.Errorf("got %d %+v, want 400 %s", status, env, tc.code)
			}
		})
	}
}

// TestEmailAndSMSRules: the email and sms rules check their destinations
// and parameters at the door; what they accept is stored as deliveries on
// the email and sms channels. The test gateway runs no email or sms
// plugin, so only the acknowledgement and the delivery records are
// checked, not the sending.
func TestEmailAndSMSRules(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	for _, tc := range []struct {
		name, rule, content string
		ext                 map[string]string
		status              int
		code                string
		channel, dest       string // of the delivery, when accepted
	}{
		{name: "email_bad_destination", rule: "email", content: "hi",
			ext:    map[string]string{"destination": "not-an-address", "subject": "s"},
			status: 400, code: "InvalidParameterValue"},
		{name: "email_without_subject", rule: "email", content: "hi",
			ext:    map[string]string{"destination": "ops@example.com"},
			status: 400, code: "InvalidParameter.ParamError"},
		{name: "email_without_destination", rule: "email", content: "hi",
			ext:    map[string]string{"subject": "s"},
			status: 400, code: "InvalidParameter.ParamError"},
		{name: "email_attachment_not_a_link", rule: "email", content: "hi",
			ext:    map[string]string{"destination": "ops@example.com", "subject": "s", "attachment": "file:///etc/passwd"},
			status: 400, code: "InvalidParameterValue"},
		{name: "sms_bad_destination", rule: "sms", content: "hi",
			ext:    map[string]string{"destination": "12345"},
			status: 400, code: "InvalidParameterValue"},
		{name: "sms_without_destination", rule: "sms", content: "hi",
			status: 400, code: "InvalidParameter.ParamError"},
		{name: "email_accepted", rule: "email", content: "Your invoice is attached.",
			ext:    map[string]string{"destination": "ops@example.com", "subject": "Invoice", "attachment": "https://files.example.com/q3/invoice.pdf"},
			status: 200, code: "OK", channel: "email", dest: "ops@example.com"},
		{name: "sms_accepted_mainland_number", rule: "sms", content: "Your code is 1234",
			ext:    map[string]string{"destination": "13800138000"},
			status: 200, code: "OK", channel: "sms", dest: "+8613800138000"},
		{name: "sms_accepted_e164", rule: "sms", content: "Your code is 1234",
			ext:    map[string]string{"destination": "+14155550100"},
			status: 200, code: "OK", channel: "sms", dest: "+14155550100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, env := submit(t, r, devSecret, "demo", tc.rule, tc.content, tc.ext)
			if status != tc.status || env.Code != tc.code || env.Message == "" {
				t.Fatalf("got %d %+v, want %d %s", status, env, tc.status, tc.code)
			}
			if tc.status != 200 {
				return
			}
			if len(env.Result.DeliveryIDs) != 1 {
				t.Fatalf("deliveries = %v, want 1", env.Result.DeliveryIDs)
			}
			d := waitDelivery(t, r, devSecret, env.Result.DeliveryIDs[0], 5*time.Second, "the delivery record",
				func(*callgatev1.GetDeliveryResponse) bool { return true })
			dl := d.GetDelivery()
			if dl.GetChannel() != tc.channel || dl.GetDestination() != tc.dest || dl.GetRule() != tc.rule ||
				dl.GetMessageId() != env.Result.MessageID || dl.GetConfigId() != "" {
				t.Errorf("delivery = %v, want channel %s to %s", dl, tc.channel, tc.dest)
			}
		})
	}
}
