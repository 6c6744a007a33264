package delivery

import "github.com/prometheus/client_golang/prometheus"

// metrics are one destination's delivery series. No label carries user data.
type metrics struct {
	events       *prometheus.CounterVec
	delivered    prometheus.Counter
	retries      prometheus.Counter
	writeSeconds prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, dest string) *metrics {
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "sluice_sink_events_total",
		Help:        "Events of a destination by outcome: delivered, dead-lettered, or dropped at delivery (suppressed, consent).",
		ConstLabels: prometheus.Labels{"destination": dest},
	}, []string{"outcome"})
	retries := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_sink_retries_total", Help: "Write attempts retried.",
		ConstLabels: prometheus.Labels{"destination": dest},
	})
	write := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sluice_sink_write_seconds", Help: "Duration of one batch write.",
		ConstLabels: prometheus.Labels{"destination": dest},
		Buckets:     prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	if reg != nil {
		reg.MustRegister(events, retries, write)
	}
	return &metrics{events: events, delivered: events.WithLabelValues("delivered"), retries: retries, writeSeconds: write}
}

func (m *metrics) outcome(o string)         { m.events.WithLabelValues(o).Inc() }
func (m *metrics) outcomeN(o string, n int) { m.events.WithLabelValues(o).Add(float64(n)) }
