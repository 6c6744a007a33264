package router

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/processors/consent"
)

// metrics are the router's Prometheus series. No label carries user data.
type metrics struct {
	in           prometheus.Counter
	droppedBy    *prometheus.CounterVec
	routedTo     *prometheus.CounterVec
	filteredBy   *prometheus.CounterVec
	consentBy    *prometheus.CounterVec
	consentErrs  prometheus.Counter
	txnSeconds   prometheus.Histogram
	txnOutcome   *prometheus.CounterVec
	tableEntries *prometheus.GaugeVec
	ready        prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		in: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_router_events_in_total", Help: "Records read from events.raw.",
		}),
		droppedBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_router_events_dropped_total", Help: "Events dropped for every destination, by stage and reason.",
		}, []string{"reason"}),
		routedTo: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_router_events_routed_total", Help: "Events by the number of destinations they were routed to.",
		}, []string{"destinations"}),
		filteredBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_router_destination_filtered_total", Help: "Events kept from one destination by its filters or the integrations object.",
		}, []string{"destination", "reason"}),
		consentBy: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_router_consent_decisions_total", Help: "Consent decisions per destination, by the rule that decided.",
		}, []string{"destination", "source", "allowed"}),
		consentErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_router_consent_errors_total", Help: "Unreadable consent (on the event or stored); treated as granting nothing.",
		}),
		txnSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sluice_router_transaction_seconds", Help: "Time from poll to end of transaction.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		txnOutcome: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_router_transactions_total", Help: "Transactions by outcome.",
		}, []string{"outcome"}),
		tableEntries: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_router_table_entries", Help: "Entries in the router's tables.",
		}, []string{"table"}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_router_ready", Help: "1 once every table caught up and partitions are processed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.in, m.droppedBy, m.routedTo, m.filteredBy, m.consentBy, m.consentErrs,
			m.txnSeconds, m.txnOutcome, m.tableEntries, m.ready)
	}
	return m
}

func (m *metrics) dropped(reason string) { m.droppedBy.WithLabelValues(reason).Inc() }

func (m *metrics) routed(n int) {
	label := strconv.Itoa(min(n, 10))
	m.routedTo.WithLabelValues(label).Inc()
}

func (m *metrics) filtered(dest, reason string) { m.filteredBy.WithLabelValues(dest, reason).Inc() }

func (m *metrics) consent(dest string, d consent.Decision, allowed bool) {
	m.consentBy.WithLabelValues(dest, string(d), strconv.FormatBool(allowed)).Inc()
}

func (m *metrics) consentError() { m.consentErrs.Inc() }
