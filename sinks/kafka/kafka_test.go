package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
	"github.com/sluicehq/sluice/testenv/broker"
)

const destTopic = "analytics.events"

// kafkaDest is a fresh embedded cluster with the destination topic.
type kafkaDest struct {
	b      *broker.Broker
	cfg    func(*Config)
	broken atomic.Int32 // 0, or the error code every Produce to destTopic gets
}

func newDest(t *testing.T, cfg ...func(*Config)) *kafkaDest {
	d := &kafkaDest{b: broker.ForTest(t)}
	if len(cfg) > 0 {
		d.cfg = cfg[0]
	}
	adm := kadm.NewClient(client(t, d.b.Addr()))
	compact := "compact"
	if _, err := adm.CreateTopic(t.Context(), 3, 1, map[string]*string{"cleanup.policy": &compact}, destTopic); err != nil {
		t.Fatal(err)
	}
	d.b.Cluster().ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		d.b.Cluster().KeepControl()
		code := int16(d.broken.Load())
		if code == 0 {
			return nil, nil, false
		}
		r := req.(*kmsg.ProduceRequest)
		resp := r.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range r.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic, rt.TopicID = tp.Topic, tp.TopicID // produce v13+ names topics by id
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	return d
}

func client(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func (d *kafkaDest) config() Config {
	c := Config{Topic: destTopic, Brokers: []string{d.b.Addr()}, DeliveryTimeout: 2 * time.Second}
	if d.cfg != nil {
		d.cfg(&c)
	}
	return c
}

func (d *kafkaDest) open(t *testing.T) *Sink {
	t.Helper()
	s, err := Open(t.Context(), d.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func (d *kafkaDest) Open(t *testing.T) sinks.Sink { return d.open(t) }

// records reads the topic to its end as a read_committed consumer does.
func (d *kafkaDest) records(t *testing.T, topic string) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(client(t, d.b.Addr()))
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			targets[o.Partition] = o.Offset
		}
	})
	cl := client(t, d.b.Addr(), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	var out []*kgo.Record
	for len(targets) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: still waiting for %v", topic, targets)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= targets[r.Partition] {
				delete(targets, r.Partition)
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
		})
	}
	return out
}

func (d *kafkaDest) Delivered(t *testing.T) []string {
	var ids []string
	for _, r := range d.records(t, destTopic) {
		if r.Value == nil {
			continue // a tombstone
		}
		var e schemas.Event
		if err := schemas.DecodeRaw(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.MessageID)
	}
	return ids
}

func (d *kafkaDest) Break(_ *testing.T, class sinks.Class) {
	if class == sinks.Retryable {
		d.broken.Store(int32(kerr.NotEnoughReplicas.Code))
	} else {
		d.broken.Store(int32(kerr.InvalidRecord.Code))
	}
}

func (d *kafkaDest) Fix(*testing.T) { d.broken.Store(0) }

// Remaining counts the subjects' keys whose latest record is not a tombstone.
func (d *kafkaDest) Remaining(t *testing.T, req sinks.DeleteRequest) int {
	latest := map[string][]byte{}
	for _, r := range d.records(t, destTopic) {
		latest[string(r.Key)] = r.Value
	}
	n := 0
	for _, ids := range [][]string{req.UserIDs, req.AnonymousIDs} {
		for _, id := range ids {
			if v, ok := latest[req.Workspace+"/"+id]; ok && v != nil {
				n++
			}
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{New: func(t *testing.T) sinktest.Destination { return newDest(t) }, Reshaped: true})
}

func TestConformanceAtLeastOnce(t *testing.T) {
	// Without transactions, a re-delivered batch is written again; the
	// headers identify the copies, and a consumer that drops them by
	// (sluice-topic, sluice-partition, sluice-offset) sees each event once.
	off := false
	sinktest.Run(t, sinktest.Harness{New: func(t *testing.T) sinktest.Destination {
		return &dedupingDest{newDest(t, func(c *Config) { c.ExactlyOnce = &off })}
	}})
}

type dedupingDest struct{ *kafkaDest }

func (d *dedupingDest) Delivered(t *testing.T) []string {
	seen := map[string]bool{}
	var ids []string
	for _, r := range d.records(t, destTopic) {
		if r.Value == nil {
			continue
		}
		h := map[string]string{}
		for _, x := range r.Headers {
			h[x.Key] = string(x.Value)
		}
		id := h[HeaderTopic] + "/" + h[HeaderPartition] + "/" + h[HeaderOffset]
		if seen[id] {
			continue
		}
		seen[id] = true
		var e schemas.Event
		if err := schemas.DecodeRaw(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.MessageID)
	}
	return ids
}

func TestRecordsKeepKeysAndOrder(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	events := sinktest.Events("keys", 40)
	if err := s.Write(t.Context(), sinktest.NewBatch("sluice.dest.stream", 1, 100, events)); err != nil {
		t.Fatal(err)
	}
	recs := d.records(t, destTopic)
	if len(recs) != len(events) {
		t.Fatalf("%d records, want %d", len(recs), len(events))
	}
	byKey := map[string][]int64{}
	partOf := map[string]int32{}
	for _, r := range recs {
		var e schemas.Event
		if err := schemas.DecodeRaw(r.Value, &e); err != nil {
			t.Fatal(err)
		}
		if string(r.Key) != e.Key() {
			t.Errorf("record key %q, event key %q", r.Key, e.Key())
		}
		if p, ok := partOf[string(r.Key)]; ok && p != r.Partition {
			t.Errorf("key %s on partitions %d and %d", r.Key, p, r.Partition)
		}
		partOf[string(r.Key)] = r.Partition
		var off int64
		for _, h := range r.Headers {
			if h.Key == HeaderOffset {
				fmt.Sscan(string(h.Value), &off)
			}
		}
		byKey[string(r.Key)] = append(byKey[string(r.Key)], off)
	}
	for k, offs := range byKey {
		if !slices.IsSorted(offs) {
			t.Errorf("key %s out of order: %v", k, offs)
		}
	}
}

func TestTooLargeRecordFailsAlone(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	events := sinktest.Events("large", 10)
	events[3].Properties = []byte(`{"blob":"` + strings.Repeat("x", 2<<20) + `"}`)
	err := s.Write(t.Context(), sinktest.NewBatch("sluice.dest.stream", 0, 0, events))
	var be *sinks.BatchError
	if !errors.As(err, &be) || fmt.Sprint(be.Failed) != "[3]" {
		t.Fatalf("Write = %v (%#v), want a BatchError naming event 3", err, be)
	}
	if c, reason := sinks.Classify(err); c != sinks.Permanent {
		t.Fatalf("classified %s (%s)", c, reason)
	}
	if got := len(d.Delivered(t)); got != 9 {
		t.Fatalf("%d events delivered, want the other 9", got)
	}
}

// A producer that stalls mid-transaction loses its partition to another
// process: the newcomer fences it, and the stalled one's records never
// become visible.
func TestNewOwnerFencesTheOld(t *testing.T) {
	d := newDest(t)
	events := sinktest.Events("fence", 30)
	b := sinktest.NewBatch("sluice.dest.stream", 0, 0, events)
	old := d.open(t)
	if err := old.Write(t.Context(), sinktest.Slice(b, 0, 10)); err != nil {
		t.Fatal(err)
	}
	newer := d.open(t)
	if err := newer.Write(t.Context(), sinktest.Slice(b, 0, 20)); err != nil {
		t.Fatal(err)
	}
	// The old owner still thinks it owns the partition.
	err := old.Write(t.Context(), sinktest.Slice(b, 10, 30))
	if err == nil {
		t.Fatal("a fenced producer wrote a batch")
	}
	if c, reason := sinks.Classify(err); c != sinks.Retryable {
		t.Errorf("fenced: %v classified %s (%s)", err, c, reason)
	}
	if err := newer.Write(t.Context(), sinktest.Slice(b, 20, 30)); err != nil {
		t.Fatal(err)
	}
	got := d.Delivered(t)
	slices.Sort(got)
	want := sinktest.IDs(events)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v", got)
	}
}

func TestDeleteReceipt(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	rec, err := s.Delete(t.Context(), sinks.DeleteRequest{Workspace: "acme", UserIDs: []string{"u1", "u2"}, AnonymousIDs: []string{"a1"}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Tombstones != 3 || rec.Topic != destTopic || !strings.Contains(rec.Detail, "compacted") {
		t.Fatalf("receipt %+v", rec)
	}
	var keys []string
	for _, r := range d.records(t, destTopic) {
		if r.Value != nil {
			t.Errorf("a tombstone with a value: %s", r.Value)
		}
		keys = append(keys, string(r.Key))
	}
	slices.Sort(keys)
	if fmt.Sprint(keys) != "[acme/a1 acme/u1 acme/u2]" {
		t.Fatalf("tombstone keys %v", keys)
	}
}

func TestFromSettings(t *testing.T) {
	t.Setenv("KAFKA_PW", "pw")
	c, err := FromSettings("stream", map[string]any{"topic": "t", "brokers": []any{"b1:9092", "b2:9092"},
		"saslMechanism": "SCRAM-SHA-512", "saslUser": "u", "saslPasswordEnv": "KAFKA_PW", "exactlyOnce": false, "tls": true})
	if err != nil {
		t.Fatal(err)
	}
	if *c.ExactlyOnce || c.SASL.Password != "pw" || len(c.Brokers) != 2 || !c.TLS.Enabled || c.StateTopic != "sluice.sink-state" {
		t.Fatalf("%+v", c)
	}
	// Without brokers the settings mean sluice's own cluster, which the
	// caller fills in; Open refuses a Config still without them.
	own, err := FromSettings("stream", map[string]any{"topic": "t"})
	if err != nil || len(own.Brokers) != 0 {
		t.Fatalf("FromSettings without brokers = %+v, %v", own, err)
	}
	if err := own.Validate(); err == nil {
		t.Error("Validate accepted a Config without brokers")
	}
	for _, bad := range []map[string]any{
		{"brokers": "b:9092"},
		{"topic": "t", "brokers": "b", "saslMechanism": "GSSAPI"},
		{"topic": "t", "brokers": "b", "saslUser": "u", "saslPassword": "p"}, // credentials without a mechanism would go unused
		{"topic": "t", "brokers": "b", "topik": "x"},
	} {
		if _, err := FromSettings("stream", bad); err == nil {
			t.Errorf("FromSettings(%v) accepted", bad)
		}
	}
}

func TestOpenRefusesMissingTopic(t *testing.T) {
	d := newDest(t)
	cfg := d.config()
	cfg.Topic = "no.such.topic"
	if _, err := Open(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open = %v", err)
	}
}
