package ingest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/limits"
	callgatev1 "github.com/callgate/callgate/proto/callgate/v1"
)

// batchReply is the REST batch answer, decoded.
type batchReply struct {
	Code   string `json:"code"`
	Result struct {
		RequestID string `json:"requestId"`
		Accepted  int    `json:"accepted"`
		Refused   int    `json:"refused"`
		Results   []struct {
			MessageID   string   `json:"messageId"`
			DeliveryIDs []string `json:"deliveryIds"`
			Duplicate   bool     `json:"duplicate"`
			Code        string   `json:"code"`
			Message     string   `json:"message"`
		} `json:"results"`
	} `json:"result"`
}

func postBatch(t *testing.T, url, secret, body string) (reply, batchReply) {
	t.Helper()
	r := post(t, url, secret, body, nil)
	var b batchReply
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("batch answer: %v\n%s", err, r.body)
	}
	return r, b
}

// TestSubmitBatch: each callback of a batch is judged on its own, those
// accepted are stored in one commit before the answer, and the answer
// lists every callback in the order sent.
func TestSubmitBatch(t *testing.T) {
	e := newEnv(t)
	base := e.serveREST(t)
	commits0, _ := e.store.Stats()
	big := strings.Repeat("a", 1500)
	r, b := postBatch(t, base+"/t1/message/v1/callbacks/batch", secretOne, `{"callbacks":[
		{"content":"one","idempotencyKey":"k-1"},
		{"content":{"order":42},"properties":{"rule":"http"}},
		{"content":"`+big+`"},
		{"content":"x","properties":{"appKey":"k2"}},
		{"content":"x","properties":{"rule":"custom","ext":{"case":"reject"}}},
		{"content":"again","idempotencyKey":"k-1"}
	]}`)
	if r.status != http.StatusOK || b.Code != apierr.OK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	checkRequestID(t, r)
	want := []struct {
		code      string
		duplicate bool
	}{
		{apierr.OK, false},
		{apierr.OK, false},
		{apierr.BodyTooLarge, false},
		{apierr.Forbidden, false},
		{apierr.RuleRejected, false},
		{apierr.OK, true},
	}
	if len(b.Result.Results) != len(want) {
		t.Fatalf("%d results, want %d: %s", len(b.Result.Results), len(want), r.body)
	}
	for i, w := range want {
		got := b.Result.Results[i]
		if got.Code != w.code || got.Duplicate != w.duplicate {
			t.Errorf("callback %d: %+v, want code %s duplicate %v", i, got, w.code, w.duplicate)
		}
		if w.code == apierr.OK && (!strings.HasPrefix(got.MessageID, "msg_") || len(got.DeliveryIDs) != 1) {
			t.Errorf("callback %d accepted without ids: %+v", i, got)
		}
		if w.code != apierr.OK && (got.MessageID != "" || got.Message == "") {
			t.Errorf("callback %d refused without a message, or with ids: %+v", i, got)
		}
	}
	if b.Result.Accepted != 3 || b.Result.Refused != 3 {
		t.Errorf("accepted %d refused %d, want 3 and 3", b.Result.Accepted, b.Result.Refused)
	}
	if first, dup := b.Result.Results[0], b.Result.Results[5]; dup.MessageID != first.MessageID || dup.DeliveryIDs[0] != first.DeliveryIDs[0] {
		t.Errorf("the repeated key answered %+v, want the first callback's ids %+v", dup, first)
	}
	// Stored before the answer, all in one commit.
	if commits1, _ := e.store.Stats(); commits1-commits0 != 1 {
		t.Errorf("the batch took %d commits, want 1", commits1-commits0)
	}
	for i, content := range map[int]string{0: "one", 1: `{"order":42}`} {
		m, err := e.store.GetMessage(t.Context(), "t1", b.Result.Results[i].MessageID)
		if err != nil || m.Content != content || m.RequestID != r.env.RequestID {
			t.Errorf("callback %d stored as %+v, %v", i, m, err)
		}
	}
	// The dispatcher hears of the two new callbacks, not of the duplicate.
	if n := len(e.notifier.notified()); n != 2 {
		t.Errorf("notified %d times, want 2", n)
	}
}

// TestSubmitBatchRefused: what refuses a batch as a whole stores nothing.
func TestSubmitBatchRefused(t *testing.T) {
	e := newEnv(t)
	base := e.serveREST(t)
	seven := `{"callbacks":[` + strings.TrimSuffix(strings.Repeat(`{"content":"x"},`, 7), ",") + `]}`
	for _, tt := range []struct {
		name, tenant, secret, body string
		wantStatus                 int
		wantCode                   string
	}{
		{"no_credentials", "t1", "", `{"callbacks":[{"content":"x"}]}`, 401, apierr.Unauthorized},
		{"another_tenant", "t2", secretOne, `{"callbacks":[{"content":"x"}]}`, 403, apierr.Forbidden},
		{"empty", "t1", secretOne, `{"callbacks":[]}`, 400, apierr.ParamError},
		{"no_callbacks_member", "t1", secretOne, `{"content":"x"}`, 400, apierr.ParamError},
		{"too_many", "t1", secretOne, seven, 400, apierr.InvalidParameterValue},
		{"malformed", "t1", secretOne, `{"callbacks":[{"content":`, 400, apierr.ParamError},
		{"too_large", "t1", secretOne, `{"callbacks":[{"content":"` + strings.Repeat("a", ingest.MaxBatchBytes) + `"}]}`, 413, apierr.BodyTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := post(t, base+"/"+tt.tenant+"/message/v1/callbacks/batch", tt.secret, tt.body, nil)
			if r.status != tt.wantStatus || r.env.Code != tt.wantCode {
				t.Errorf("status %d code %s, want %d %s: %s", r.status, r.env.Code, tt.wantStatus, tt.wantCode, r.body)
			}
		})
	}
	if n := len(e.notifier.notified()); n != 0 {
		t.Errorf("refused batches notified %d times", n)
	}
}

// ingestLimits charges batches as the gateway does.
type ingestLimits struct{ lim *limits.Limits }

func (l ingestLimits) TakeIngest(tenantID string, n int) error {
	return l.lim.TakeN(limits.Ingest, tenantID, n)
}

// TestSubmitBatchRate: a batch takes one token of the tenant's ingest rate
// per callback, and one over the rate is answered 429 with Retry-After.
func TestSubmitBatchRate(t *testing.T) {
	e := newEnv(t)
	opts := testOptions
	opts.MaxBatch = 100
	opts.Limiter = ingestLimits{limits.New(limits.Options{Ingest: limits.Rate{PerSecond: 0.5, Burst: 10}})}
	e.svc = ingest.New(e.store, httpRule{next: e.router}, e.notifier, discard, opts)
	base := e.serveREST(t)
	batch := func(n int) string {
		return `{"callbacks":[` + strings.TrimSuffix(strings.Repeat(`{"content":"x"},`, n), ",") + `]}`
	}
	if r, b := postBatch(t, base+"/t1/message/v1/callbacks/batch", secretOne, batch(6)); r.status != 200 || b.Result.Accepted != 6 {
		t.Fatalf("first batch: %d %s", r.status, r.body)
	}
	r := post(t, base+"/t1/message/v1/callbacks/batch", secretOne, batch(5), nil)
	if r.status != http.StatusTooManyRequests || r.env.Code != apierr.LimitExceeded || r.header.Get("Retry-After") != "2" {
		t.Errorf("over the rate: %d %s Retry-After %q, want 429 LimitExceeded 2", r.status, r.body, r.header.Get("Retry-After"))
	}
	if r, b := postBatch(t, base+"/t1/message/v1/callbacks/batch", secretOne, batch(4)); r.status != 200 || b.Result.Accepted != 4 {
		t.Errorf("what is left of the burst: %d %s", r.status, r.body)
	}
	r = post(t, base+"/t1/message/v1/callbacks/batch", secretOne, batch(11), nil)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.env.Message, "burst of 10") {
		t.Errorf("more than the burst: %d %s", r.status, r.body)
	}
	if n := len(e.notifier.notified()); n != 10 {
		t.Errorf("%d callbacks went out, want 10", n)
	}
}

// TestSubmitCallbacksConnect: the batch over every Connect protocol.
func TestSubmitCallbacksConnect(t *testing.T) {
	e := newEnv(t)
	for name, c := range e.connectClients(t) {
		t.Run(name, func(t *testing.T) {
			req := connect.NewRequest(&callgatev1.SubmitCallbacksRequest{Callbacks: []*callgatev1.SubmitCallbackRequest{
				{Content: "one"},
				{Content: "two", Properties: &callgatev1.CallbackProperties{Rule: "nope"}},
				{Content: "three", TenantId: "t2"},
			}})
			req.Header().Set("Authorization", "Bearer "+secretOne)
			resp, err := c.callbacks.SubmitCallbacks(t.Context(), req)
			if err != nil {
				t.Fatal(err)
			}
			res := resp.Msg.GetResults()
			if len(res) != 3 || resp.Msg.GetAccepted() != 1 || resp.Msg.GetRefused() != 2 || !strings.HasPrefix(resp.Msg.GetRequestId(), "req_") {
				t.Fatalf("answer %v", resp.Msg)
			}
			if !strings.HasPrefix(res[0].GetMessageId(), "msg_") || len(res[0].GetDeliveryIds()) != 1 || res[0].GetErrorCode() != "" {
				t.Errorf("accepted callback: %v", res[0])
			}
			if res[1].GetErrorCode() != apierr.RuleNotFound || res[2].GetErrorCode() != apierr.Forbidden {
				t.Errorf("refused callbacks: %v %v", res[1], res[2])
			}
			empty := connect.NewRequest(&callgatev1.SubmitCallbacksRequest{TenantId: "t2", Callbacks: []*callgatev1.SubmitCallbackRequest{{Content: "x"}}})
			empty.Header().Set("Authorization", "Bearer "+secretOne)
			_, err = c.callbacks.SubmitCallbacks(t.Context(), empty)
			checkConnectError(t, err, connect.CodePermissionDenied, apierr.Forbidden)
		})
	}
}
