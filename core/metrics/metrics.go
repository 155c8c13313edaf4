// Package metrics holds callgate's Prometheus metrics, served under
// /metrics with the callgate_ prefix. Each gateway has its own registry, so
// tests that run several gateways do not mix their counts.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's instruments. A nil *Metrics records nothing, so
// packages can be used without them.
type Metrics struct {
	registry *prometheus.Registry

	ingest     *prometheus.CounterVec
	ack        prometheus.Histogram
	attempts   *prometheus.CounterVec
	send       *prometheus.HistogramVec
	endToEnd   *prometheus.HistogramVec
	ruleCalls  *prometheus.HistogramVec
	ruleErrors *prometheus.CounterVec

	// Per endpoint (callback config), see endpoint.go.
	endpointAttempts *prometheus.CounterVec
	endpointBreaker  *prometheus.GaugeVec
	endpointDeferred *prometheus.CounterVec
}

// Latency buckets from 0.5 ms to about 60 s: callgate acks in a few
// milliseconds, receivers answer in tens to thousands.
var buckets = prometheus.ExponentialBucketsRange(0.0005, 60, 18)

// New makes the metrics and registers them with a fresh registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		ingest: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callgate_ingest_total",
			Help: "Callbacks submitted, by outcome (accepted, duplicate, refused) and stable code.",
		}, []string{"outcome", "code"}),
		ack: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "callgate_ack_seconds",
			Help:    "Time from a callback's arrival to its acknowledgement (commit included).",
			Buckets: buckets,
		}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callgate_attempts_total",
			Help: "Delivery attempts, by channel and outcome (delivered, retryable, permanent).",
		}, []string{"channel", "outcome"}),
		send: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callgate_send_seconds",
			Help:    "Time one attempt took in its sender plugin, by channel.",
			Buckets: buckets,
		}, []string{"channel"}),
		endToEnd: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callgate_end_to_end_seconds",
			Help:    "Time from a callback's acknowledgement to its successful delivery, by channel.",
			Buckets: buckets,
		}, []string{"channel"}),
		ruleCalls: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "callgate_rule_seconds",
			Help:    "Time of one rule call, by export (route, classify).",
			Buckets: prometheus.ExponentialBucketsRange(0.000001, 0.1, 16),
		}, []string{"export"}),
		ruleErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "callgate_rule_errors_total",
			Help: "Rule calls that failed (trap, limit, bad output), by export.",
		}, []string{"export"}),
	}
	m.newEndpointMetrics()
	m.registry.MustRegister(m.ingest, m.ack, m.attempts, m.send, m.endToEnd, m.ruleCalls, m.ruleErrors,
		m.endpointAttempts, m.endpointBreaker, m.endpointDeferred,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Gauge registers a gauge read from fn at every scrape (queue depth, plugin
// restarts, store commits).
func (m *Metrics) Gauge(name, help string, fn func() float64) {
	if m == nil {
		return
	}
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
}

// Ingest records one submission and, when accepted, how long its ack took.
func (m *Metrics) Ingest(outcome, code string, took time.Duration) {
	if m == nil {
		return
	}
	m.ingest.WithLabelValues(outcome, code).Inc()
	if outcome != "refused" {
		m.ack.Observe(took.Seconds())
	}
}

// Attempt records one delivery attempt; delivered attempts also record the
// time since the callback was acknowledged.
func (m *Metrics) Attempt(channel, outcome string, send, sinceAck time.Duration) {
	if m == nil {
		return
	}
	m.attempts.WithLabelValues(channel, outcome).Inc()
	m.send.WithLabelValues(channel).Observe(send.Seconds())
	if outcome == "delivered" {
		m.endToEnd.WithLabelValues(channel).Observe(sinceAck.Seconds())
	}
}

// RuleCall records one rule call.
func (m *Metrics) RuleCall(export string, took time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.ruleCalls.WithLabelValues(export).Observe(took.Seconds())
	if failed {
		m.ruleErrors.WithLabelValues(export).Inc()
	}
}
