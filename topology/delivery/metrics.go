package delivery

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one destination's delivery series. No label carries user data.
type metrics struct {
	events       *prometheus.CounterVec
	delivered    prometheus.Counter
	retries      prometheus.Counter
	deadLetters  *prometheus.CounterVec
	writeSeconds prometheus.Observer
	lag          prometheus.Gauge
}

// Dead-letter reasons, the reason label of sluice_sink_deadletters_total.
const (
	reasonPermanent    = "permanent"     // the sink classified the error permanent
	reasonRetryHorizon = "retry_horizon" // retryable, but failing for longer than the horizon
	reasonUndecodable  = "undecodable"   // the dest.<name> value is not an event
)

func newMetrics(reg prometheus.Registerer, dest string, owned *owned) *metrics {
	labels := prometheus.Labels{"destination": dest}
	events := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "sluice_sink_events_total",
		Help:        "Events of a destination by outcome: delivered, deadletter, duplicate (a messageId already delivered), or dropped at delivery (suppressed, consent, key_shredded…).",
		ConstLabels: labels,
	}, []string{"outcome"})
	retries := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "sluice_sink_retries_total", Help: "Write attempts retried.", ConstLabels: labels,
	})
	dead := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name:        "sluice_sink_deadletters_total",
		Help:        "Events dead-lettered, by reason: permanent, retry_horizon, undecodable.",
		ConstLabels: labels,
	}, []string{"reason"})
	write := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "sluice_sink_write_seconds", Help: "Duration of one batch write.", ConstLabels: labels,
		Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
	})
	lag := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "sluice_sink_lag_records", Help: "Records of dest.<name> not yet settled (last stable offset − committed offset), summed over this process's partitions.",
		ConstLabels: labels,
	})
	oldest := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_sink_oldest_undelivered_seconds", Help: "Age of the oldest record this process holds and has not settled (by its dest.<name> timestamp); grows during an outage.",
		ConstLabels: labels,
	}, func() float64 { age, _ := owned.stats(time.Now()); return age.Seconds() })
	retrying := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_sink_retrying_partitions", Help: "Partitions whose batch is waiting to be retried; 0 when the destination is healthy.",
		ConstLabels: labels,
	}, func() float64 { _, n := owned.stats(time.Now()); return float64(n) })
	if reg != nil {
		reg.MustRegister(events, retries, dead, write, lag, oldest, retrying)
	}
	return &metrics{events: events, delivered: events.WithLabelValues("delivered"), retries: retries,
		deadLetters: dead, writeSeconds: write, lag: lag}
}

func (m *metrics) outcome(o string)         { m.events.WithLabelValues(o).Inc() }
func (m *metrics) outcomeN(o string, n int) { m.events.WithLabelValues(o).Add(float64(n)) }
