package delivery_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks/webhook"
	"github.com/sluicehq/sluice/topology/delivery"
	"github.com/sluicehq/sluice/topology/topics"
)

// msg is an event to route: messageId and userId (which picks the partition).
type msg struct{ id, user string }

// produce writes events to dest.hook as the router does, with the
// messageId hash header, in one produce call.
func (e *env) produce(t *testing.T, ms ...msg) {
	t.Helper()
	recs := make([]*kgo.Record, 0, len(ms))
	for _, m := range ms {
		now := time.Now().UTC()
		ev := schemas.Event{Type: schemas.Track, MessageID: m.id, UserID: m.user, Event: "E", Timestamp: now, ReceivedAt: now, Workspace: "acme", Source: "web"}
		recs = append(recs, &kgo.Record{Topic: names.Destination("hook"), Key: ev.AppendKey(nil), Value: ev.AppendRaw(nil),
			Headers: []kgo.RecordHeader{topics.MessageHashHeader("acme", m.id)}})
	}
	if err := e.cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

var markers atomic.Int64

// settle routes a fresh event to each partition of dest.hook and waits for
// them: every event routed before is settled.
func (e *env) settle(t *testing.T) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var ids []string
	for p := int32(0); p < 2; p++ {
		id := fmt.Sprintf("settle-%d-%d", markers.Add(1), p)
		now := time.Now().UTC()
		ev := schemas.Event{Type: schemas.Track, MessageID: id, UserID: "marker", Event: "E", Timestamp: now, ReceivedAt: now, Workspace: "acme", Source: "web"}
		rec := &kgo.Record{Topic: names.Destination("hook"), Partition: p, Key: ev.AppendKey(nil), Value: ev.AppendRaw(nil),
			Headers: []kgo.RecordHeader{topics.MessageHashHeader("acme", id)}}
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	e.hook.waitFor(t, ids...)
}

// run starts an engine on dest.hook with cfg's tuning; stop shuts it down
// (also at cleanup).
func (e *env) run(t *testing.T, cfg delivery.Config) (stop func()) {
	t.Helper()
	wcfg, err := webhook.FromSettings("hook", e.ws.Destinations[0].Settings)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := webhook.Open(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seeds, cfg.Workspace, cfg.Destination, cfg.Sink = []string{e.b.Addr()}, e.ws, "hook", sink
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	eng, err := delivery.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := eng.Run(ctx); err != nil {
			t.Errorf("engine: %v", err)
		}
	}()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	return stop
}

// deadLetters returns the records of the dead-letter topic.
func (e *env) deadLetters(t *testing.T) []*kgo.Record {
	t.Helper()
	adm := kadm.NewClient(e.cl)
	ends, err := adm.ListEndOffsets(t.Context(), names.Of(topics.DeadLetter))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.ConsumeTopics(names.Of(topics.DeadLetter)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(want) > 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			if r.Offset >= want[r.Partition]-1 {
				delete(want, r.Partition)
			}
		})
	}
	return out
}

// metric returns the value of a destination's series (summed over the
// series whose labels include labels).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue series
				}
			}
			switch {
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// eventually waits until cond holds, failing after 60 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// logBuffer keeps an engine's logs for assertions and shows them in the
// test's log.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimSpace(string(p)))
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
