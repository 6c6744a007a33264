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
	routedN      [11]prometheus.Counter
	filteredBy   *prometheus.CounterVec
	consentBy    *prometheus.CounterVec
	consentErrs  prometheus.Counter
	profileErrs  prometheus.Counter
	txnSeconds   prometheus.Histogram
	txnOutcome   *prometheus.CounterVec
	tableEntries *prometheus.GaugeVec
	ready        prometheus.Gauge
	lag          prometheus.Gauge
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
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_router_consumer_lag", Help: "Records of events.raw not yet committed by the router group (all members).",
		}),
		profileErrs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_router_profile_errors_total", Help: "Identify calls routed without updating the user's profile.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sluice_router_ready", Help: "1 once every table caught up and partitions are processed.",
		}),
	}
	for i := range m.routedN {
		m.routedN[i] = m.routedTo.WithLabelValues(strconv.Itoa(i))
	}
	if reg != nil {
		reg.MustRegister(m.in, m.droppedBy, m.routedTo, m.filteredBy, m.consentBy, m.consentErrs, m.profileErrs,
			m.txnSeconds, m.txnOutcome, m.tableEntries, m.ready, m.lag)
	}
	return m
}

func (m *metrics) dropped(reason string) { m.droppedBy.WithLabelValues(reason).Inc() }

func (m *metrics) routed(n int) { m.routedN[min(n, len(m.routedN)-1)].Inc() }

// destCounters are one destination's per-event counters, resolved once:
// label lookups per event would cost more than the stage they count.
type destCounters struct {
	m        *metrics
	dest     string
	decision map[consent.Decision][2]prometheus.Counter
}

func (m *metrics) forDestination(dest string) destCounters {
	c := destCounters{m: m, dest: dest, decision: map[consent.Decision][2]prometheus.Counter{}}
	for _, d := range []consent.Decision{consent.DecisionUnmapped, consent.DecisionEvent, consent.DecisionStored, consent.DecisionWhenMissing} {
		c.decision[d] = [2]prometheus.Counter{
			m.consentBy.WithLabelValues(dest, string(d), "false"),
			m.consentBy.WithLabelValues(dest, string(d), "true"),
		}
	}
	return c
}

func (c destCounters) consent(d consent.Decision, allowed bool) {
	i := 0
	if allowed {
		i = 1
	}
	if pair, ok := c.decision[d]; ok {
		pair[i].Inc()
		return
	}
	c.m.consentBy.WithLabelValues(c.dest, string(d), strconv.FormatBool(allowed)).Inc()
}

func (c destCounters) filtered(reason string) { c.m.filteredBy.WithLabelValues(c.dest, reason).Inc() }

func (m *metrics) consentError() { m.consentErrs.Inc() }

func (m *metrics) profileError() { m.profileErrs.Inc() }
