package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callgate/callgate/core/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// TestEndpointSeries: per-endpoint series are labelled by config id,
// deliveries without a config make none, and ForgetEndpoint drops one
// config's series only.
func TestEndpointSeries(t *testing.T) {
	m := metrics.New()
	for _, id := range []string{"cfg_a", "cfg_b"} {
		m.EndpointAttempt(id, "delivered")
		m.EndpointAttempt(id, "retryable")
		m.EndpointBreaker(id, 1)
		m.EndpointDeferred(id, "rate")
	}
	m.EndpointAttempt("", "delivered") // an e-mail, say: no endpoint
	body := scrape(t, m)
	for _, want := range []string{
		`callgate_endpoint_attempts_total{config_id="cfg_a",outcome="delivered"} 1`,
		`callgate_endpoint_attempts_total{config_id="cfg_b",outcome="retryable"} 1`,
		`callgate_endpoint_breaker_state{config_id="cfg_a"} 1`,
		`callgate_endpoint_deferred_total{config_id="cfg_b",reason="rate"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if strings.Contains(body, `config_id=""`) {
		t.Error("a delivery without a config made a series")
	}
	m.ForgetEndpoint("cfg_a")
	body = scrape(t, m)
	if strings.Contains(body, "cfg_a") {
		t.Error("the forgotten config's series remain")
	}
	if !strings.Contains(body, `callgate_endpoint_breaker_state{config_id="cfg_b"} 1`) {
		t.Error("another config's series went too")
	}
	var none *metrics.Metrics // records nothing, and does not panic
	none.EndpointAttempt("cfg_a", "delivered")
	none.ForgetEndpoint("cfg_a")
}
