package metrics

import "github.com/prometheus/client_golang/prometheus"

// The per-endpoint series are labelled with the config id alone, so there
// are as many as there are callback configs (times a few outcomes), and
// ForgetEndpoint drops a deleted config's.

func (m *Metrics) newEndpointMetrics() {
	m.endpointAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callgate_endpoint_attempts_total",
		Help: "Delivery attempts that reached an endpoint's sender, by callback config and outcome (delivered, retryable, permanent).",
	}, []string{"config_id", "outcome"})
	m.endpointBreaker = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "callgate_endpoint_breaker_state",
		Help: "An endpoint's circuit breaker, by callback config: 0 closed, 1 open, 2 half-open (a probe is out).",
	}, []string{"config_id"})
	m.endpointDeferred = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "callgate_endpoint_deferred_total",
		Help: "Deliveries put back without an attempt, by callback config and reason: rate (over the endpoint's rate), breaker (its circuit is open), busy (its concurrency cap).",
	}, []string{"config_id", "reason"})
}

// EndpointAttempt counts one attempt to the endpoint of config configID.
func (m *Metrics) EndpointAttempt(configID, outcome string) {
	if m == nil || configID == "" {
		return
	}
	m.endpointAttempts.WithLabelValues(configID, outcome).Inc()
}

// EndpointBreaker records the circuit breaker state of config configID's endpoint.
func (m *Metrics) EndpointBreaker(configID string, state int) {
	if m == nil || configID == "" {
		return
	}
	m.endpointBreaker.WithLabelValues(configID).Set(float64(state))
}

// EndpointDeferred counts a delivery to config configID put back without
// an attempt, and why.
func (m *Metrics) EndpointDeferred(configID, reason string) {
	if m == nil || configID == "" {
		return
	}
	m.endpointDeferred.WithLabelValues(configID, reason).Inc()
}

// ForgetEndpoint drops every series of config configID (it was deleted).
func (m *Metrics) ForgetEndpoint(configID string) {
	if m == nil || configID == "" {
		return
	}
	match := prometheus.Labels{"config_id": configID}
	m.endpointAttempts.DeletePartialMatch(match)
	m.endpointBreaker.DeletePartialMatch(match)
	m.endpointDeferred.DeletePartialMatch(match)
}
