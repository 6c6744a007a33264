package api

import (
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the api role's Prometheus series, on the registry the caller
// hands in (never the global one).
type metrics struct {
	requests       *prometheus.CounterVec // route, code
	eventsAccepted *prometheus.CounterVec // source
	rejected       *prometheus.CounterVec // code
	itemsRefused   *prometheus.CounterVec // code
	bytes          *prometheus.CounterVec // route
	produceLatency prometheus.Histogram
	deadLetters    *prometheus.CounterVec // result
	dropped        *prometheus.CounterVec // source, reason
	connections    prometheus.Gauge
	panics         prometheus.Counter
}

func newMetrics(reg *prometheus.Registry) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_requests_total",
			Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_events_accepted_total",
			Help: "Events the broker acknowledged, by source.",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_requests_rejected_total",
			Help: "Refused tracking requests by error code (the rule broken, unauthorized, rate_limited, ...).",
		}, []string{"code"}),
		itemsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_items_refused_total",
			Help: "Batch items refused on their own (the rest of their batch accepted), by the rule broken.",
		}, []string{"code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_request_bytes_total",
			Help: "Tracking request body bytes read, after decompression, by route.",
		}, []string{"route"}),
		produceLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_api_produce_latency_seconds",
			Help:    "Time from producing a request's events to the broker acknowledging all of them.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_deadletters_total",
			Help: "Dead-letter records of refused input, by result (written, failed).",
		}, []string{"result"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_api_deadletters_dropped_total",
			Help: "Dead-letter records not written because their source was over its deadLettersPerSecond, by source and reason (the error code).",
		}, []string{"source", "reason"}),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_api_connections",
			Help: "Connections the API holds open (at most its connection cap).",
		}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_api_panics_total",
			Help: "Requests whose handler panicked and were answered 500 by the last-resort guard.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.eventsAccepted, m.rejected, m.itemsRefused, m.bytes,
		m.produceLatency, m.deadLetters, m.dropped, m.connections, m.panics} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("api: registering metrics: %w", err)
		}
	}
	return m, nil
}

func (m *metrics) handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
