package ingest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/ingest"
	"github.com/callgate/callgate/core/metrics"
	"github.com/callgate/callgate/core/reqid"
)

// TestSubmitMetrics: every submission is counted by outcome and stable
// code.
func TestSubmitMetrics(t *testing.T) {
	e := newEnv(t)
	m := metrics.New()
	opts := testOptions
	opts.Metrics = m
	svc := ingest.New(e.store, httpRule{next: e.router}, e.notifier, discard, opts)
	mux := http.NewServeMux()
	ingest.NewRESTHandler(svc, e.auth, discard).Register(mux)
	srv := httptest.NewServer(reqid.Middleware(mux))
	t.Cleanup(srv.Close)

	url := srv.URL + "/t1/message/v1/callbacks"
	post(t, url, secretOne, `{"content":"x"}`, map[string]string{"Idempotency-Key": "k"})
	post(t, url, secretOne, `{"content":"x"}`, map[string]string{"Idempotency-Key": "k"})
	post(t, url, secretOne, `{"content":"x","properties":{"rule":"nope"}}`, nil)
	post(t, srv.URL+"/t2/message/v1/callbacks", secretTwo, `{"content":"x"}`, nil)

	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`callgate_ingest_total{code="OK",outcome="accepted"} 1`,
		`callgate_ingest_total{code="OK",outcome="duplicate"} 1`,
		`callgate_ingest_total{code="ResourceNotFound.Rule",outcome="refused"} 1`,
		`callgate_ingest_total{code="FailedOperation.NoCallbackConfig",outcome="refused"} 1`,
		`callgate_ack_seconds_count 2`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
