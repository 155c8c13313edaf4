package ruleset_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/ruleruntime"
	"github.com/callgate/callgate/core/ruleset"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// configs are t1's callback configs as rules see them.
var configs = []route.Config{
	{ID: "cfg_a", URL: "https://a.example/hook", HasKey: true, HasToken: true},
	{ID: "cfg_b", URL: "https://b.example/hook?x=1"},
}

// codeOf returns the stable code of err, "" for nil.
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return "not an *apierr.Error: " + err.Error()
}

// ebaasSchedule is the EBaaS platform's retry schedule.
func ebaasSchedule() []time.Duration {
	s := []time.Duration{time.Second, 3 * time.Second, 7 * time.Second, 30 * time.Second, time.Minute, 5 * time.Minute}
	for len(s) < 20 {
		s = append(s, time.Hour)
	}
	return s
}

// TestRouteBuiltins runs each built-in rule's real module on callbacks it
// takes and callbacks it rejects.
func TestRouteBuiltins(t *testing.T) {
	f := newFixture(t)
	const ebaasContent = `{"event_source":"crm","event_topic":"order","event_type":"paid","event_status":1,"changes":[{"f":1}]}`
	const ebaasBody = `{"event_source":"crm","event_topic":"order","event_type":"paid","event_status":"1",` +
		`"event_key":"crm.order.paid.1","changes":[{"f":1}]}`
	const timContent = `{"CallbackCommand":"C2C.CallbackAfterSendMsg","From_Account":"a"}`
	timQuery := map[string]string{"SdkAppid": "1400000001", "CallbackCommand": "C2C.CallbackAfterSendMsg", "contenttype": "json"}
	jsonHeader := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name, rule, content string
		ext                 map[string]string
		configs             []route.Config
		want                []route.Delivery
		reject              string
	}{
		{
			name: "http_json_to_every_config", rule: "http", content: `{"a":1}`, configs: configs,
			want: []route.Delivery{
				{Channel: "http", ConfigID: "cfg_a", Destination: "https://a.example/hook", Method: "POST", Headers: jsonHeader, Body: []byte(`{"a":1}`)},
				{Channel: "http", ConfigID: "cfg_b", Destination: "https://b.example/hook?x=1", Method: "POST", Headers: jsonHeader, Body: []byte(`{"a":1}`)},
			},
		},
		{
			name: "http_text", rule: "http", content: "42", configs: configs[1:],
			want: []route.Delivery{{Channel: "http", ConfigID: "cfg_b", Destination: "https://b.example/hook?x=1", Method: "POST",
				Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: []byte("42")}},
		},
		{name: "http_without_config", rule: "http", content: "x", reject: apierr.NoCallbackConfig},
		{
			name: "email", rule: "email", content: "see attached",
			ext: map[string]string{"destination": " ops@example.com ", "subject": "Invoice", "attachment": "https://files.example.com/q3/invoice%20final.pdf"},
			want: []route.Delivery{{Channel: "email", Destination: "ops@example.com", Subject: "Invoice", Body: []byte("see attached"),
				Attachments: []route.Attachment{{FileName: "invoice final.pdf", URL: "https://files.example.com/q3/invoice%20final.pdf"}}}},
		},
		{name: "email_without_subject", rule: "email", content: "x", ext: map[string]string{"destination": "ops@example.com"}, reject: apierr.ParamError},
		{name: "email_bad_address", rule: "email", content: "x", ext: map[string]string{"destination": "ops@", "subject": "s"}, reject: apierr.InvalidParameterValue},
		{
			name: "sms_mainland", rule: "sms", content: "code 1234", ext: map[string]string{"destination": "13800138000"},
			want: []route.Delivery{{Channel: "sms", Destination: "+8613800138000", Body: []byte("code 1234")}},
		},
		{name: "sms_not_a_number", rule: "sms", content: "x", ext: map[string]string{"destination": "call me"}, reject: apierr.InvalidParameterValue},
		{
			name: "ebaas_envelope", rule: "ebaas", content: ebaasContent, configs: configs,
			want: []route.Delivery{
				{Channel: "http", ConfigID: "cfg_a", Destination: "https://a.example/hook", Method: "POST", Headers: jsonHeader,
					Body: []byte(ebaasBody), Schedule: ebaasSchedule()},
				{Channel: "http", ConfigID: "cfg_b", Destination: "https://b.example/hook?x=1", Method: "POST", Headers: jsonHeader,
					Body: []byte(ebaasBody), Schedule: ebaasSchedule()},
			},
		},
		{name: "ebaas_missing_field", rule: "ebaas", content: `{"event_source":"crm"}`, configs: configs, reject: apierr.ParamError},
		{
			name: "tim_signs_where_a_token_is", rule: "tim", content: timContent, configs: configs,
			ext: map[string]string{"sdkAppid": "1400000001"},
			want: []route.Delivery{
				{Channel: "http", ConfigID: "cfg_a", Destination: "https://a.example/hook", Method: "POST", Headers: jsonHeader,
					Query: timQuery, Body: []byte(timContent), Sign: "tim"},
				{Channel: "http", ConfigID: "cfg_b", Destination: "https://b.example/hook?x=1", Method: "POST", Headers: jsonHeader,
					Query: timQuery, Body: []byte(timContent)},
			},
		},
		{name: "tim_without_app_id", rule: "tim", content: timContent, configs: configs, reject: apierr.ParamError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := f.set.Route(t.Context(), route.Input{TenantID: "t1", MessageID: "msg_1", Rule: tt.rule,
				Content: tt.content, Ext: tt.ext, Configs: tt.configs})
			if err != nil {
				t.Fatal(err)
			}
			if tt.reject != "" {
				if dec.Reject == nil || dec.Reject.Code != tt.reject || dec.Reject.Message == "" || dec.Deliveries != nil {
					t.Errorf("decision = %+v, want a %s rejection", dec, tt.reject)
				}
				return
			}
			if dec.Reject != nil || !reflect.DeepEqual(dec.Deliveries, tt.want) {
				t.Errorf("decision = %+v\nwant deliveries %+v", dec, tt.want)
			}
		})
	}
	if _, err := f.set.Route(t.Context(), route.Input{TenantID: "t1", Rule: "fax", Content: "x"}); !errors.Is(err, route.ErrUnknownRule) {
		t.Errorf("unknown rule: %v, want route.ErrUnknownRule", err)
	}
	if got := f.set.BuiltinCodes(); !reflect.DeepEqual(got, []string{"ebaas", "email", "http", "sms", "tim"}) {
		t.Errorf("BuiltinCodes = %v", got)
	}
}

// TestDecision hands the gateway decisions through a real rule
// (testdata/decide.wat answers the callback's content as its decision) and
// checks how each is read: resolved, refused, or bounded.
func TestDecision(t *testing.T) {
	f := newFixture(t)
	f.put(t, "t1", "decide", wat(t, "decide"))
	other, err := f.store.AddCallbackConfig(t.Context(), store.CallbackConfig{TenantID: "t2", URL: "https://t2.example/hook"})
	if err != nil {
		t.Fatal(err)
	}
	seven := int64(7 * 24 * time.Hour / time.Millisecond)
	fifty := "[" + strings.Repeat("1000,", 49) + "1000]"
	tests := []struct {
		name     string
		decision string
		want     route.Decision
		err      string // a substring of the RuleError's message
	}{
		{
			name:     "config_id_gives_the_destination",
			decision: `{"deliveries":[{"channel":"http","configId":"cfg_b","method":"put","body":"b"}]}`,
			want: route.Decision{Deliveries: []route.Delivery{{Channel: "http", ConfigID: "cfg_b",
				Destination: "https://b.example/hook?x=1", Method: "PUT", Body: []byte("b")}}},
		},
		{
			name:     "config_id_with_its_own_destination",
			decision: `{"deliveries":[{"channel":"http","configId":"cfg_a","destination":"https://elsewhere.example/"}]}`,
			want: route.Decision{Deliveries: []route.Delivery{{Channel: "http", ConfigID: "cfg_a",
				Destination: "https://elsewhere.example/", Body: []byte{}}}},
		},
		{
			name:     "config_id_of_another_tenant_refused",
			decision: `{"deliveries":[{"channel":"http","configId":"` + other.ID + `"}]}`,
			err:      "is not one of the tenant's",
		},
		{
			name:     "config_id_of_another_tenant_refused_in_a_fallback",
			decision: `{"deliveries":[{"channel":"http","configId":"cfg_a","fallbacks":[{"channel":"http","configId":"` + other.ID + `"}]}]}`,
			err:      "fallback 0: config",
		},
		{
			name:     "body_base64_wins",
			decision: `{"deliveries":[{"channel":"sms","destination":"+15550100","body":"text","bodyBase64":"AAEC/w=="}]}`,
			want:     route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+15550100", Body: []byte{0, 1, 2, 255}}}},
		},
		{
			name:     "body_base64_malformed",
			decision: `{"deliveries":[{"channel":"sms","destination":"+15550100","bodyBase64":"not base64!"}]}`,
			err:      "bodyBase64",
		},
		{
			name:     "retry_schedule_bounds_accepted",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","retrySchedule":[0,1500,` + itoa(seven) + `]}]}`,
			want: route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+1", Body: []byte{},
				Schedule: []time.Duration{0, 1500 * time.Millisecond, 7 * 24 * time.Hour}}}},
		},
		{
			name:     "retry_schedule_of_fifty",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","retrySchedule":` + fifty + `}]}`,
			want: route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+1", Body: []byte{},
				Schedule: repeat(time.Second, 50)}}},
		},
		{
			name:     "retry_schedule_of_fifty_one",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","retrySchedule":` + strings.Replace(fifty, "[", "[1,", 1) + `}]}`,
			err:      "retrySchedule has 51 entries",
		},
		{
			name:     "retry_delay_negative",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","retrySchedule":[1000,-1]}]}`,
			err:      "delay -1 ms is out of range",
		},
		{
			name:     "retry_delay_over_a_week",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","retrySchedule":[` + itoa(seven+1) + `]}]}`,
			err:      "out of range",
		},
		{
			// The host reads [] as "no retries" (store: ScheduleMs [] is no
			// retries), null or absent as the default schedule.
			name:     "retry_schedule_empty_means_no_retries",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","retrySchedule":[]},{"channel":"sms","destination":"+2","retrySchedule":null}]}`,
			want: route.Decision{Deliveries: []route.Delivery{
				{Channel: "sms", Destination: "+1", Body: []byte{}, Schedule: []time.Duration{}},
				{Channel: "sms", Destination: "+2", Body: []byte{}},
			}},
		},
		{
			name: "fallbacks_kept_in_order",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","fallbacks":[` +
				`{"channel":"email","destination":"a@example.com","subject":"s","retrySchedule":[]},{"channel":"http","configId":"cfg_a"}]}]}`,
			want: route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+1", Body: []byte{}, Fallbacks: []route.Delivery{
				{Channel: "email", Destination: "a@example.com", Subject: "s", Body: []byte{}, Schedule: []time.Duration{}},
				{Channel: "http", ConfigID: "cfg_a", Destination: "https://a.example/hook", Body: []byte{}},
			}}}},
		},
		{
			name: "fallbacks_nested_refused",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","fallbacks":[` +
				`{"channel":"sms","destination":"+2","fallbacks":[{"channel":"sms","destination":"+3"}]}]}]}`,
			err: "a fallback cannot have fallbacks of its own",
		},
		{
			name: "six_fallbacks_refused",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","fallbacks":[` +
				strings.Repeat(`{"channel":"sms","destination":"+2"},`, 5) + `{"channel":"sms","destination":"+2"}]}]}`,
			err: "6 fallbacks, at most 5",
		},
		{
			name:     "reject_without_message",
			decision: `{"reject":{"code":"FailedOperation.Mine"},"deliveries":[{"channel":"sms","destination":"+1"}]}`,
			want:     route.Decision{Reject: &route.Rejection{Code: "FailedOperation.Mine", Message: "rejected by the rule"}},
		},
		{
			name:     "unknown_fields_ignored",
			decision: `{"deliveries":[{"channel":"sms","destination":"+1","priority":{"high":true}}],"trace":[1,2]}`,
			want:     route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "+1", Body: []byte{}}}},
		},
		{name: "not_json", decision: `{"deliveries":`, err: "not valid JSON"},
		{name: "empty_output", decision: ``, err: "not valid JSON"},
		{name: "wrong_type", decision: `{"deliveries":{"channel":"sms"}}`, err: "not valid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dec, err := f.set.Route(t.Context(), route.Input{TenantID: "t1", MessageID: "msg_1", Rule: "decide",
				Content: tt.decision, Configs: configs})
			if tt.err != "" {
				if codeOf(err) != ruleset.RuleError || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want %s saying %q", err, ruleset.RuleError, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(dec, tt.want) {
				t.Errorf("decision = %+v\nwant       %+v", dec, tt.want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// TestClassify asks the built-in rules, through their real modules, to
// judge receivers' answers.
func TestClassify(t *testing.T) {
	f := newFixture(t)
	f.put(t, "t1", "decide", wat(t, "decide"))
	const (
		delivered = pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
		retryable = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
	)
	tests := []struct {
		name, tenant, rule string
		status             int32
		body               string
		kind               pluginv1.OutcomeKind
		reason             string
		judged             bool
	}{
		{name: "ebaas_code_000", rule: "ebaas", status: 200, body: `{"code":"000"}`, kind: delivered, judged: true},
		{name: "ebaas_code_000_despite_status", rule: "ebaas", status: 500, body: `{"code":"000"}`, kind: delivered, judged: true},
		{name: "ebaas_code_500", rule: "ebaas", status: 200, body: `{"code":"500","msg":"busy"}`, kind: retryable, reason: "code 500: busy", judged: true},
		{name: "ebaas_not_json", rule: "ebaas", status: 200, body: `ok`, kind: retryable, reason: "not a JSON object", judged: true},
		{name: "tim_ok", rule: "tim", status: 200, body: `{"ActionStatus":"OK","ErrorCode":0}`, kind: delivered, judged: true},
		{name: "tim_fail", rule: "tim", status: 200, body: `{"ActionStatus":"FAIL","ErrorCode":1}`, kind: retryable, reason: "ErrorCode 1", judged: true},
		{name: "tim_ok_without_code", rule: "tim", status: 200, body: `{"ActionStatus":"OK"}`, kind: retryable, reason: "ErrorCode missing", judged: true},
		// The http rule does not classify (the Go SDK exports classify only
		// for rules that import sdk/rule/classify): it has no say.
		{name: "http_2xx", rule: "http", status: 204},
		{name: "http_5xx", rule: "http", status: 503},
		{name: "no_classify_export", tenant: "t1", rule: "decide", status: 200, body: `{}`},
		{name: "unknown_rule", rule: "fax", status: 200},
		{name: "another_tenants_rule", tenant: "t2", rule: "decide", status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tenant := tt.tenant
			if tenant == "" {
				tenant = "t1"
			}
			kind, reason, judged, err := f.set.Classify(t.Context(),
				store.Delivery{TenantID: tenant, Rule: tt.rule, Channel: "http"},
				&pluginv1.Outcome{StatusCode: tt.status, ResponseBody: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if judged != tt.judged || kind != tt.kind || !strings.Contains(reason, tt.reason) {
				t.Errorf("Classify = %v %q %v, want %v %q %v", kind, reason, judged, tt.kind, tt.reason, tt.judged)
			}
		})
	}
}

// TestInvalidate: the active version of a tenant's rule is remembered
// until Invalidate says it changed, and a deleted rule gives way to the
// built-in one of the same code.
func TestInvalidate(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	decide, other := wat(t, "decide"), wat(t, "other")
	in := route.Input{TenantID: "t1", MessageID: "msg_1", Rule: "mine", Content: `{"reject":{"code":"FailedOperation.V1"}}`, Configs: configs}
	rejection := func() string {
		t.Helper()
		dec, err := f.set.Route(ctx, in)
		if errors.Is(err, route.ErrUnknownRule) {
			return "unknown"
		}
		if err != nil || dec.Reject == nil {
			t.Fatalf("route: %+v %v", dec, err)
		}
		return dec.Reject.Code
	}

	if got := rejection(); got != "unknown" {
		t.Fatalf("before any version: %s", got)
	}
	f.put(t, "t1", "mine", decide)
	if got := rejection(); got != "unknown" {
		t.Errorf("a version put without Invalidate was used at once: %s (the set remembered no rule)", got)
	}
	f.set.Invalidate("t1", "mine")
	if got := rejection(); got != "FailedOperation.V1" {
		t.Errorf("version 1: %s", got)
	}
	f.put(t, "t1", "mine", other)
	if got := rejection(); got != "FailedOperation.V1" {
		t.Errorf("version 2 was used before Invalidate: %s", got)
	}
	f.set.Invalidate("t2", "mine") // another tenant's change is not this one's
	if got := rejection(); got != "FailedOperation.V1" {
		t.Errorf("after another tenant's Invalidate: %s", got)
	}
	f.set.Invalidate("t1", "mine")
	if got := rejection(); got != "FailedOperation.Other" {
		t.Errorf("version 2 after Invalidate: %s", got)
	}
	if _, err := f.store.ActivateRule(ctx, "t1", "mine", 1); err != nil {
		t.Fatal(err)
	}
	f.set.Invalidate("t1", "mine")
	if got := rejection(); got != "FailedOperation.V1" {
		t.Errorf("after rolling back to version 1: %s", got)
	}
	res, err := f.set.Test(ctx, in)
	if err != nil || res.Version != 1 || !strings.Contains(string(res.Decision), "FailedOperation.V1") {
		t.Errorf("Test after rollback = %+v %v", res, err)
	}
	if err := f.store.DeleteRule(ctx, "t1", "mine"); err != nil {
		t.Fatal(err)
	}
	f.set.Invalidate("t1", "mine")
	if got := rejection(); got != "unknown" {
		t.Errorf("after delete: %s", got)
	}

	// A tenant's http rule shadows the built-in one until it is deleted.
	in.Rule = "http"
	f.put(t, "t1", "http", other)
	f.set.Invalidate("t1", "http")
	if got := rejection(); got != "FailedOperation.Other" {
		t.Errorf("the tenant's http rule: %s", got)
	}
	if err := f.store.DeleteRule(ctx, "t1", "http"); err != nil {
		t.Fatal(err)
	}
	f.set.Invalidate("t1", "http")
	if dec, err := f.set.Route(ctx, in); err != nil || len(dec.Deliveries) != 2 {
		t.Errorf("the built-in http rule after delete: %+v %v", dec, err)
	}
}

// gatedStore holds one ActiveRuleRef answer after reading it, until told
// to go on: the moment a rule changes while a callback is being routed.
type gatedStore struct {
	*store.Store
	hold    chan struct{} // closed to hold the next lookup
	held    chan struct{} // closed when the lookup has read the store
	release chan struct{} // closed to let it answer
	once    sync.Once
}

func (g *gatedStore) ActiveRuleRef(ctx context.Context, tenantID, code string) (store.RuleVersion, error) {
	rv, err := g.Store.ActiveRuleRef(ctx, tenantID, code)
	select {
	case <-g.hold:
		g.once.Do(func() {
			close(g.held)
			<-g.release
		})
	default:
	}
	return rv, err
}

// TestInvalidateDuringLookup: a rule changed (and Invalidate called) while
// a callback's lookup of the active version was in flight must not leave
// the old version remembered.
func TestInvalidateDuringLookup(t *testing.T) {
	gs := &gatedStore{hold: make(chan struct{}), held: make(chan struct{}), release: make(chan struct{})}
	f := newFixtureOn(t, func(s *store.Store) ruleset.Store { gs.Store = s; return gs }, ruleset.Options{})
	ctx := t.Context()
	f.put(t, "t1", "mine", wat(t, "decide"))
	in := route.Input{TenantID: "t1", MessageID: "msg_1", Rule: "mine", Content: `{"reject":{"code":"FailedOperation.V1"}}`, Configs: configs}

	close(gs.hold)
	first := make(chan error, 1)
	go func() {
		_, err := f.set.Route(ctx, in)
		first <- err
	}()
	<-gs.held // the lookup read version 1 and has not answered yet
	f.put(t, "t1", "mine", wat(t, "other"))
	f.set.Invalidate("t1", "mine")
	close(gs.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	dec, err := f.set.Route(ctx, in)
	if err != nil || dec.Reject == nil || dec.Reject.Code != "FailedOperation.Other" {
		t.Errorf("after the change: %+v %v, want version 2's FailedOperation.Other", dec.Reject, err)
	}
}

// TestCheck: what PutRule asks of an upload.
func TestCheck(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	sample := route.Input{TenantID: "t1", MessageID: "msg_s", Rule: "x", Content: "{}", Configs: configs}
	tests := []struct {
		name       string
		wasm       []byte
		code       string
		classifies bool
	}{
		{name: "go_sdk_rule", wasm: shared.builtin["ebaas"], classifies: true},
		{name: "wat_without_classify", wasm: wat(t, "other")},
		{name: "garbage", wasm: []byte("\x00asm but not really"), code: apierr.InvalidParameterValue},
		// decide answers the sample's content, {}: neither deliveries nor a
		// rejection, which is a valid (empty) decision.
		{name: "empty_decision", wasm: wat(t, "decide")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			classifies, err := f.set.Check(ctx, "x", tt.wasm, sample)
			if codeOf(err) != tt.code || classifies != tt.classifies {
				t.Errorf("Check = %v %v, want %v %q", classifies, err, tt.classifies, tt.code)
			}
		})
	}
	bad := sample
	bad.Content = "not a decision"
	if _, err := f.set.Check(ctx, "x", wat(t, "decide"), bad); codeOf(err) != ruleset.RuleError || !strings.Contains(err.Error(), "sample") {
		t.Errorf("Check of a rule answering nonsense: %v", err)
	}
}

// TestRuleFailures: a rule that fails instead of deciding fails the
// callback with RuleError saying how, and serves the next one; a caller
// that gives up first gets ServiceUnavailable.
func TestRuleFailures(t *testing.T) {
	// 2 MiB of memory: growing to the default 16 MiB takes milliseconds,
	// hundreds of them under the race detector, and grow would run out of
	// time instead. Go modules need more, so no built-in rule is given.
	f := newFixtureOn(t, nil, ruleset.Options{Builtin: map[string][]byte{}, Limits: ruleruntime.Limits{MemoryPages: 32}})
	f.put(t, "t1", "decide", wat(t, "decide"))
	route1 := func(ctx context.Context, content string) error {
		_, err := f.set.Route(ctx, route.Input{TenantID: "t1", MessageID: "msg_1", Rule: "decide", Content: content, Configs: configs})
		return err
	}
	for _, tt := range []struct{ content, says string }{
		{"trap", "trapped"},
		{"spin", "ran out of time"},
		{"grow", "ran out of memory"},
		{"huge", "answered more than the output limit"},
	} {
		t.Run(tt.content, func(t *testing.T) {
			err := route1(t.Context(), tt.content)
			if codeOf(err) != ruleset.RuleError || !strings.Contains(err.Error(), `rule "decide" `+tt.says) {
				t.Errorf("err = %v, want %s saying %q", err, ruleset.RuleError, tt.says)
			}
			res, err := f.set.Test(t.Context(), route.Input{TenantID: "t1", Rule: "decide", Content: tt.content, Configs: configs})
			if codeOf(err) != ruleset.RuleError || res.Version != 1 || res.Decision != nil {
				t.Errorf("Test = %+v %v", res, err)
			}
			if err := route1(t.Context(), `{"reject":{"code":"FailedOperation.Fine"}}`); err != nil {
				t.Errorf("the next callback: %v", err)
			}
		})
	}
	t.Run("caller_gave_up", func(t *testing.T) {
		// The cancellation reaches a running rule from another goroutine,
		// which a garbage collection can hold up until fuel ends the call
		// (there is no background compilation in this set to cause one):
		// cancel before the call.
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := route1(ctx, "spin"); codeOf(err) != apierr.ServiceUnavailable {
			t.Errorf("err = %v, want %s", err, apierr.ServiceUnavailable)
		}
	})
}

// TestReadyOnlyWhenBuiltinsCompile: a set whose built-in rules cannot
// compile (limits too small for a Go module) must not say it is ready,
// since every callback naming them would fail.
func TestReadyOnlyWhenBuiltinsCompile(t *testing.T) {
	bad := newFixtureOn(t, nil, ruleset.Options{
		Builtin: map[string][]byte{"http": shared.builtin["http"]},
		Limits:  ruleruntime.Limits{MemoryPages: 32},
	})
	_, err := bad.set.Route(t.Context(), route.Input{TenantID: "t1", Rule: "http", Content: "x", Configs: configs})
	if codeOf(err) != apierr.InternalError {
		t.Fatalf("route through a built-in rule that does not compile: %v", err)
	}
	// The compilation is over; the background one that marks the set
	// ready would be done within moments.
	for deadline := time.Now().Add(500 * time.Millisecond); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if bad.set.Ready() {
			t.Fatal("Ready with a built-in rule that does not compile")
		}
	}

	good := newFixtureOn(t, nil, ruleset.Options{Builtin: map[string][]byte{"http": shared.builtin["http"]}})
	for deadline := time.Now().Add(time.Minute); !good.set.Ready(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not ready within a minute with a built-in rule that compiles")
		}
	}
}
