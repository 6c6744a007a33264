package delivery_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/delivery"
	"github.com/sluicehq/sluice/topology/topics"
)

// outage is how long TestLongOutageLosesNothing keeps the webhook down:
// SLUICE_OUTAGE (a Go duration, e.g. 5m), default 70s, longer than the ~40 s
// the old 10-attempt budget lasted.
func outage(t *testing.T) time.Duration {
	v := os.Getenv("SLUICE_OUTAGE")
	if v == "" {
		return 70 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("SLUICE_OUTAGE %q: %v", v, err)
	}
	return d
}

// A webhook that answers 503, or hangs past the request timeout, for longer
// than the old retry budget, under steady traffic: nothing is dead-lettered,
// the oldest-undelivered gauge grows during the outage, and after recovery
// every event is delivered exactly once. The retry settings come from the
// destination's `retry:` section.
func TestLongOutageLosesNothing(t *testing.T) {
	down := outage(t)
	for _, mode := range []string{"503", "hanging"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.ws.Destinations[0].Settings["timeout"] = "1s"
			e.ws.Destinations[0].Retry = config.Retry{MaxBackoff: config.D(5 * time.Second)}
			if mode == "503" {
				e.hook.status.Store(http.StatusServiceUnavailable)
			} else {
				e.hook.hang.Store(true)
			}
			reg := prometheus.NewRegistry()
			e.run(t, delivery.Config{Registry: reg, LagInterval: 200 * time.Millisecond})

			var ids []string
			start := time.Now()
			for n := 0; time.Since(start) < down; n++ {
				batch := make([]msg, 10)
				for i := range batch {
					batch[i] = msg{id: fmt.Sprintf("m-%s-%d-%d", mode, n, i), user: fmt.Sprintf("u%d", (n*10+i)%50)}
					ids = append(ids, batch[i].id)
				}
				e.produce(t, batch...)
				time.Sleep(100 * time.Millisecond)
			}
			age := metric(t, reg, "sluice_sink_oldest_undelivered_seconds")
			retrying := metric(t, reg, "sluice_sink_retrying_partitions")
			lag := metric(t, reg, "sluice_sink_lag_records")
			if age < down.Seconds()/2 || retrying < 1 || lag < 1 {
				t.Errorf("during the outage: oldest undelivered %.1fs, retrying partitions %v, lag %v; want ≥ %.0fs, ≥ 1, ≥ 1", age, retrying, lag, down.Seconds()/2)
			}

			recovered := time.Now()
			e.hook.status.Store(0)
			e.hook.hang.Store(false)
			e.hook.waitFor(t, ids...)
			t.Logf("%s for %s: %d events routed during the outage, all delivered %s after recovery (oldest undelivered had reached %.0fs)",
				mode, down, len(ids), time.Since(recovered).Round(time.Millisecond), age)
			e.settle(t)
			for _, id := range ids {
				if n := e.hook.count(id); n != 1 {
					t.Errorf("%s delivered %d times", id, n)
				}
			}
			if dl := e.deadLetters(t); len(dl) != 0 {
				t.Errorf("%d dead letters, want 0", len(dl))
			}
			eventually(t, "the gauges settle after recovery", func() bool {
				return metric(t, reg, "sluice_sink_oldest_undelivered_seconds") == 0 &&
					metric(t, reg, "sluice_sink_retrying_partitions") == 0 && metric(t, reg, "sluice_sink_lag_records") == 0
			})
		})
	}
}

// A horizon shorter than the outage dead-letters the batch once it expires,
// counted and logged with the reason, partition and offsets and no event
// data; later events are delivered once the destination is back.
func TestRetryHorizonDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.hook.status.Store(http.StatusBadGateway)
	reg := prometheus.NewRegistry()
	logs := &logBuffer{t: t}
	e.run(t, delivery.Config{Registry: reg, Logger: logs.logger(), RetryHorizon: 2 * time.Second,
		RetryBase: 50 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	e.produce(t, msg{"m-h1", "user-h1"}, msg{"m-h2", "user-h1"})
	eventually(t, "two dead letters", func() bool { return len(e.deadLetters(t)) == 2 })

	for _, r := range e.deadLetters(t) {
		dest, _ := topics.HeaderValue(r.Headers, topics.HeaderDestination)
		reason, _ := topics.HeaderValue(r.Headers, topics.HeaderReason)
		origin, _ := topics.HeaderValue(r.Headers, topics.HeaderOrigin)
		_, _, okOrigin := topics.ParseOrigin(origin)
		_, okHash := topics.MessageHashOf(r.Headers)
		if string(dest) != "hook" || string(reason) != "retry_horizon" || !okOrigin || !okHash {
			t.Errorf("dead letter headers %v", r.Headers)
		}
	}
	if n := metric(t, reg, "sluice_sink_deadletters_total", "reason", "retry_horizon"); n != 2 {
		t.Errorf("sluice_sink_deadletters_total{reason=retry_horizon} = %v, want 2", n)
	}
	log := logs.String()
	if !strings.Contains(log, `msg="events dead-lettered"`) || !strings.Contains(log, "reason=retry_horizon") ||
		!strings.Contains(log, "count=2") || !strings.Contains(log, "firstOffset=") {
		t.Errorf("no dead-letter log line with reason, count and offsets:\n%s", log)
	}
	if strings.Contains(log, "user-h1") || strings.Contains(log, "m-h1") {
		t.Errorf("the logs carry event data:\n%s", log)
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "dead-lettered") && strings.Contains(line, "http") {
			t.Errorf("a dead-letter log line names the destination's URL: %s", line)
		}
	}

	e.hook.status.Store(0)
	e.produce(t, msg{"m-h3", "user-h3"})
	e.hook.waitFor(t, "m-h3")
	if n := e.hook.count("m-h1"); n != 0 {
		t.Errorf("m-h1 delivered %d times after it was dead-lettered", n)
	}
}
