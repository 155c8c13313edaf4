package ingest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/apierr"
	"github.com/callgate/callgate/core/auth"
	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/reqid"
	"github.com/callgate/callgate/core/route"
	"github.com/callgate/callgate/core/store"
)

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

// The credentials newEnv makes.
const (
	secretOne     = "secret-one"     // tenant t1, app key k1; t1 has a callback config
	secretRevoked = "secret-revoked" // tenant t1, app key k1-old, revoked
	secretTwo     = "secret-two"     // tenant t2, app key k2; t2 has no callback config
	secretThree   = "secret-three"   // tenant t3, app key k3; its only config is not an http(s) URL
)

const hookURL = "https://receiver.example/hook"

// testOptions keep the limits small, so that tests of them send little.
var testOptions = ingest.Options{MaxContent: 1024, MaxDeliveries: 3, MaxBatch: 6}

// env is the ingest service over a real store, served over loopback.
type env struct {
	store    *store.Store
	auth     *auth.Authenticator
	svc      *ingest.Service
	notifier *notifier
	router   *testRouter
	config   store.CallbackConfig // t1's
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	s, err := store.Open(ctx, store.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{"t1", "t2", "t3"} {
		must(s.CreateTenant(ctx, store.Tenant{ID: id}))
	}
	must(s.CreateAppKey(ctx, "t1", "k1", secretOne))
	must(s.CreateAppKey(ctx, "t1", "k1-old", secretRevoked))
	must(nil, s.RevokeAppKey(ctx, "k1-old"))
	must(s.CreateAppKey(ctx, "t2", "k2", secretTwo))
	must(s.CreateAppKey(ctx, "t3", "k3", secretThree))
	cfg, err := s.AddCallbackConfig(ctx, store.CallbackConfig{
		TenantID: "t1", URL: hookURL, Key: "0123456789abcdef0123456789abcdef", Token: "tok",
	})
	must(cfg, err)
	must(s.AddCallbackConfig(ctx, store.CallbackConfig{TenantID: "t3", URL: "ftp://files.example/drop"}))

	e := &env{store: s, auth: auth.New(s, "admin"), notifier: &notifier{}, router: &testRouter{}, config: cfg}
	e.svc = ingest.New(s, httpRule{next: e.router}, e.notifier, discard, testOptions)
	return e
}

// serveREST serves the seed's REST paths as the gateway does: behind the
// request id middleware.
func (e *env) serveREST(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	ingest.NewRESTHandler(e.svc, e.auth, discard).Register(mux)
	srv := httptest.NewServer(reqid.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv.URL
}

// notifier records what ingest tells the dispatcher.
type notifier struct {
	mu      sync.Mutex
	batches [][]store.Delivery
}

func (n *notifier) Notify(ds []store.Delivery) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.batches = append(n.batches, ds)
}

func (n *notifier) notified() [][]store.Delivery {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([][]store.Delivery(nil), n.batches...)
}

var _ ingest.Notifier = (*notifier)(nil)

// testRouter answers the rule code "custom": it does what the callback's
// ext "case" says, and records what it was given.
type testRouter struct {
	mu     sync.Mutex
	inputs []route.Input
}

func (r *testRouter) Route(_ context.Context, in route.Input) (route.Decision, error) {
	if in.Rule != "custom" {
		return route.Decision{}, fmt.Errorf("rule %q: %w", in.Rule, route.ErrUnknownRule)
	}
	r.mu.Lock()
	r.inputs = append(r.inputs, in)
	r.mu.Unlock()
	sms := route.Delivery{Channel: "sms", Destination: "+15550100", Body: []byte(in.Content)}
	switch in.Ext["case"] {
	case "reject":
		return route.Decision{Reject: &route.Rejection{Message: "not today"}}, nil
	case "reject_with_code":
		return route.Decision{Reject: &route.Rejection{Code: apierr.InvalidParameterValue, Message: "bad phone number"}}, nil
	case "none":
		return route.Decision{}, nil
	case "too_many":
		return route.Decision{Deliveries: []route.Delivery{sms, sms, sms, sms}}, nil
	case "no_channel":
		return route.Decision{Deliveries: []route.Delivery{{Destination: "+15550100"}}}, nil
	case "no_destination":
		return route.Decision{Deliveries: []route.Delivery{{Channel: "sms", Destination: "  "}}}, nil
	case "bad_http_url":
		return route.Decision{Deliveries: []route.Delivery{{Channel: "http", Destination: "mailto:ops@example.com"}}}, nil
	case "api_error":
		return route.Decision{}, apierr.New(apierr.LimitExceeded, "this rule takes one callback a minute")
	case "fail":
		return route.Decision{}, errors.New("wasm trap: secret detail")
	case "fallback_no_channel":
		sms.Fallbacks = []route.Delivery{{Destination: "ops@example.com"}}
		return route.Decision{Deliveries: []route.Delivery{sms}}, nil
	case "fallback_no_destination":
		sms.Fallbacks = []route.Delivery{{Channel: "mail"}}
		return route.Decision{Deliveries: []route.Delivery{sms}}, nil
	case "fallback_bad_http_url":
		sms.Fallbacks = []route.Delivery{{Channel: "http", Destination: "mailto:ops@example.com"}}
		return route.Decision{Deliveries: []route.Delivery{sms}}, nil
	case "fallback_no_retry":
		sms.Fallbacks = []route.Delivery{{Channel: "mail", Destination: "ops@example.com", Schedule: []time.Duration{}}}
		return route.Decision{Deliveries: []route.Delivery{sms}}, nil
	}
	sms.Schedule = []time.Duration{time.Second}
	sms.Attachments = []route.Attachment{{FileName: "a.txt", URL: "https://files.example/a.txt"}}
	sms.Sign = "tim"
	sms.Fallbacks = []route.Delivery{{
		Channel: "mail", Destination: "ops@example.com", Subject: "Fallback", Body: []byte("by mail"),
		Schedule: []time.Duration{2 * time.Second}, Sign: "none",
		Attachments: []route.Attachment{{FileName: "b.txt", URL: "https://files.example/b.txt"}},
	}}
	return route.Decision{Deliveries: []route.Delivery{sms}}, nil
}

func (r *testRouter) last() route.Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.inputs) == 0 {
		return route.Input{}
	}
	return r.inputs[len(r.inputs)-1]
}

// reply is a REST answer.
type reply struct {
	status int
	header http.Header
	body   []byte
	env    envelope
}

// envelope is the seed's answer, decoded.
type envelope struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Result  struct {
		MessageID   string   `json:"messageId"`
		RequestID   string   `json:"requestId"`
		DeliveryIDs []string `json:"deliveryIds"`
		Duplicate   bool     `json:"duplicate"`
		ReceiptID   string   `json:"receiptId"`
	} `json:"result"`
	RequestID string `json:"requestId"`
}

// post sends body to url with a bearer secret (none when empty) and a JSON
// content type, then header on top (an empty value deletes).
func post(t *testing.T, url, secret, body string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	if r.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(r.body, &r.env); err != nil {
		t.Fatalf("answer is not an envelope: %v\n%s", err, r.body)
	}
	return r
}

// checkRequestID checks that an answer carries one request id everywhere.
func checkRequestID(t *testing.T, r reply) {
	t.Helper()
	id := r.header.Get(reqid.Header)
	if !strings.HasPrefix(id, "req_") {
		t.Errorf("%s header = %q", reqid.Header, id)
	}
	if r.env.RequestID != id || r.env.Result.RequestID != id {
		t.Errorf("request ids: header %q, envelope %q, result %q; want one id", id, r.env.RequestID, r.env.Result.RequestID)
	}
}

// httpRule routes like the built-in http rule (content to every config)
// and hands other rule codes to next: the WebAssembly rules themselves are
// tested in core/ruleset and core/gateway.
type httpRule struct{ next route.Router }

func (h httpRule) Route(ctx context.Context, in route.Input) (route.Decision, error) {
	if in.Rule != "" && in.Rule != "http" {
		return h.next.Route(ctx, in)
	}
	if len(in.Configs) == 0 {
		return route.Decision{Reject: &route.Rejection{Code: "FailedOperation.NoCallbackConfig", Message: "no callback config"}}, nil
	}
	var ds []route.Delivery
	for _, c := range in.Configs {
		ds = append(ds, route.Delivery{Channel: "http", ConfigID: c.ID, Destination: c.URL, Method: "POST", Body: []byte(in.Content)})
	}
	return route.Decision{Deliveries: ds}, nil
}
