package dispatch_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callgate/callgate/core/dispatch"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/store"
	pluginv1 "github.com/callgate/callgate/proto/callgate/plugin/v1"
)

// classifier is a dispatch.Classifier that answers with verdict and
// records what it was asked.
type classifier struct {
	verdict func(d store.Delivery, out *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error)

	mu    sync.Mutex
	asked []store.Delivery
}

func (c *classifier) Classify(_ context.Context, d store.Delivery, out *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
	c.mu.Lock()
	c.asked = append(c.asked, d)
	c.mu.Unlock()
	return c.verdict(d, out)
}

// questions returns the deliveries it was asked about.
func (c *classifier) questions() []store.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]store.Delivery(nil), c.asked...)
}

var _ dispatch.Classifier = (*classifier)(nil)

const (
	kindDelivered = pluginv1.OutcomeKind_OUTCOME_KIND_DELIVERED
	kindRetryable = pluginv1.OutcomeKind_OUTCOME_KIND_RETRYABLE
	kindPermanent = pluginv1.OutcomeKind_OUTCOME_KIND_PERMANENT
)

// TestDispatcherClassifier: the rule's classifier may overrule the
// plugin's verdict on an answer the receiver gave, and only then.
func TestDispatcherClassifier(t *testing.T) {
	tests := []struct {
		name          string
		plugin        *pluginv1.Outcome
		verdict       func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error)
		wantAsked     bool
		want          store.Status
		wantOutcome   string
		wantError     string // the attempt's
		wantLastError string
	}{
		{
			name:   "failure_in_a_200_body",
			plugin: &pluginv1.Outcome{Kind: kindDelivered, StatusCode: 200, ResponseBody: []byte(`{"code":"500"}`)},
			verdict: func(_ store.Delivery, out *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				if string(out.GetResponseBody()) != `{"code":"500"}` {
					return 0, "", false, nil
				}
				return kindPermanent, `body says code "500"`, true, nil
			},
			wantAsked: true, want: store.StatusDead, wantOutcome: "permanent",
			wantError: `body says code "500"`, wantLastError: `status 200: body says code "500"`,
		},
		{
			name:   "failure_without_reason",
			plugin: &pluginv1.Outcome{Kind: kindDelivered, StatusCode: 200},
			verdict: func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				return kindPermanent, "", true, nil
			},
			wantAsked: true, want: store.StatusDead, wantOutcome: "permanent",
			wantError: "the rule judged the answer a failure", wantLastError: "status 200: the rule judged the answer a failure",
		},
		{
			name:   "success_despite_status",
			plugin: retryable(500, "server error"),
			verdict: func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				return kindDelivered, "", true, nil
			},
			wantAsked: true, want: store.StatusSucceeded, wantOutcome: "delivered",
		},
		{
			name:   "no_opinion_keeps_plugin_verdict",
			plugin: permanent(400, "bad request"),
			verdict: func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				return kindDelivered, "ignored", false, nil
			},
			wantAsked: true, want: store.StatusDead, wantOutcome: "permanent",
			wantError: "bad request", wantLastError: "status 400: bad request",
		},
		{
			name:   "rule_error_keeps_plugin_verdict",
			plugin: delivered(),
			verdict: func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				return kindPermanent, "", true, errors.New("wasm trap")
			},
			wantAsked: true, want: store.StatusSucceeded, wantOutcome: "delivered",
		},
		{
			name:   "no_answer_not_judged",
			plugin: permanent(0, "address refused"),
			verdict: func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				return kindDelivered, "", true, nil
			},
			wantAsked: false, want: store.StatusDead, wantOutcome: "permanent",
			wantError: "address refused", wantLastError: "address refused",
		},
		{
			name:   "gone_not_judged",
			plugin: &pluginv1.Outcome{Kind: kindPermanent, StatusCode: 410, DisableEndpoint: true, Error: "gone"},
			verdict: func(store.Delivery, *pluginv1.Outcome) (pluginv1.OutcomeKind, string, bool, error) {
				return kindDelivered, "", true, nil
			},
			wantAsked: false, want: store.StatusDead, wantOutcome: "permanent",
			wantError: "gone", wantLastError: "status 410: gone",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c := &classifier{verdict: tt.verdict}
			s := &sender{answer: func(call) (*pluginv1.Outcome, error) { return tt.plugin, nil }}
			dl := e.webhook()
			dl.Schedule = []time.Duration{} // no retry: one attempt decides
			ds := e.insert(t, dl)
			e.run(t, s, dispatch.Options{Classifier: c})
			got := e.waitStatus(t, ds[0].ID, tt.want)
			as := e.attempts(t, ds[0].ID)
			if len(as) != 1 || as[0].Outcome != tt.wantOutcome || as[0].Error != tt.wantError {
				t.Errorf("attempts = %+v, want one %s with error %q", as, tt.wantOutcome, tt.wantError)
			}
			if got.LastError != tt.wantLastError {
				t.Errorf("last error = %q, want %q", got.LastError, tt.wantLastError)
			}
			q := c.questions()
			if asked := len(q) > 0; asked != tt.wantAsked {
				t.Fatalf("classifier asked: %v, want %v", asked, tt.wantAsked)
			}
			if tt.wantAsked && (q[0].ID != ds[0].ID || q[0].Rule != "http" || q[0].Attempts != 1) {
				t.Errorf("classifier was asked about %+v", q[0])
			}
		})
	}
}

// TestDispatcherFailOver: a delivery that fails for good hands over to its
// next fallback, a new delivery of the same message that carries the rest.
func TestDispatcherFailOver(t *testing.T) {
	e := newEnv(t)
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		switch c.channel {
		case "http":
			return permanent(404, "no such hook"), nil
		case "sms":
			return retryable(503, "provider busy"), nil
		}
		return delivered(), nil
	}}
	primary := e.webhook()
	primary.Fallbacks = []store.Fallback{
		{Channel: "sms", Destination: "+15550100", Body: []byte("sms body"), ScheduleMs: []int64{5}, Sign: "tim"},
		{Channel: "mail", Destination: "ops@example.com", Subject: "Order paid", Body: []byte("mail body"), Method: "SEND"},
	}
	ds := e.insert(t, primary)
	r := e.run(t, s, dispatch.Options{})
	r.Notify(ds)

	var all []store.Delivery
	waitFor(t, "the last fallback to succeed", func() bool {
		var err error
		all, err = e.store.ListDeliveries(context.Background(), store.DeliveryFilter{TenantID: e.tenant, MessageID: ds[0].MessageID})
		if err != nil {
			t.Fatal(err)
		}
		return len(all) == 3 && all[0].Status == store.StatusSucceeded
	})
	// Newest first.
	mail, sms, first := all[0], all[1], all[2]
	if first.ID != ds[0].ID || first.Status != store.StatusDead {
		t.Fatalf("primary = %+v", first)
	}
	if want := "status 404: no such hook; failed over to " + sms.ID; first.LastError != want {
		t.Errorf("primary's last error = %q, want %q", first.LastError, want)
	}
	if sms.Channel != "sms" || sms.Destination != "+15550100" || string(sms.Body) != "sms body" || sms.Sign != "tim" ||
		sms.Method != "POST" || sms.Status != store.StatusDead || sms.Attempts != 2 || len(sms.Schedule) != 1 {
		t.Errorf("first fallback = %+v", sms)
	}
	if len(sms.Fallbacks) != 1 || sms.Fallbacks[0].Channel != "mail" {
		t.Errorf("first fallback carries %+v, want the mail one", sms.Fallbacks)
	}
	if want := "gave up after 2 attempts: status 503: provider busy; failed over to " + mail.ID; sms.LastError != want {
		t.Errorf("first fallback's last error = %q, want %q", sms.LastError, want)
	}
	if mail.Channel != "mail" || mail.Subject != "Order paid" || mail.Method != "SEND" || mail.Attempts != 1 ||
		mail.Fallbacks != nil || mail.MessageID != ds[0].MessageID || mail.Rule != "http" || mail.LastError != "" {
		t.Errorf("second fallback = %+v", mail)
	}
	var sent []string
	for _, c := range s.sent() {
		sent = append(sent, c.channel)
		if c.channel == "sms" && c.delivery.GetSign() != "tim" {
			t.Errorf("sms fallback sent with sign %q", c.delivery.GetSign())
		}
	}
	if got := strings.Join(sent, ","); got != "http,sms,sms,mail" {
		t.Errorf("sent through %s", got)
	}
}

// TestDispatcherMetrics: every recorded attempt is counted by channel and
// outcome.
func TestDispatcherMetrics(t *testing.T) {
	e := newEnv(t)
	m := metrics.New()
	s := &sender{answer: func(c call) (*pluginv1.Outcome, error) {
		if c.delivery.GetAttempt() == 1 {
			return retryable(503, ""), nil
		}
		return delivered(), nil
	}}
	ds := e.insert(t, e.webhook(), e.webhook())
	e.run(t, s, dispatch.Options{Metrics: m})
	for _, d := range ds {
		e.waitStatus(t, d.ID, store.StatusSucceeded)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`callgate_attempts_total{channel="http",outcome="delivered"} 2`,
		`callgate_attempts_total{channel="http",outcome="retryable"} 2`,
		`callgate_send_seconds_count{channel="http"} 4`,
		`callgate_end_to_end_seconds_count{channel="http"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
