package broker_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
)

func newClient(t *testing.T, b *broker.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func createTopic(t *testing.T, b *broker.Broker, name string, partitions int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	resp, err := adm.CreateTopic(context.Background(), partitions, 1, configs, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", name, err)
	}
}

// consumeN polls until n records arrived or the test context ends.
func consumeN(t *testing.T, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("got %d of %d records before giving up: %v", len(out), n, ctx.Err())
		}
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("fetch: %v", err)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsume(t *testing.T) {
	b := broker.ForTest(t)
	createTopic(t, b, "t", 3, nil)
	prod := newClient(t, b, kgo.RequiredAcks(kgo.AllISRAcks()))
	for i := range 30 {
		r := &kgo.Record{Topic: "t", Key: fmt.Appendf(nil, "k%d", i%5), Value: fmt.Appendf(nil, "v%d", i)}
		if err := prod.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := newClient(t, b, kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	recs := consumeN(t, cons, 30)
	if len(recs) != 30 {
		t.Fatalf("got %d records, want 30", len(recs))
	}
	// One key stays on one partition, in order.
	last := map[string]int{}
	part := map[string]int32{}
	for _, r := range recs {
		k := string(r.Key)
		var v int
		fmt.Sscanf(string(r.Value), "v%d", &v)
		if p, ok := part[k]; ok && p != r.Partition {
			t.Fatalf("key %s on partitions %d and %d", k, p, r.Partition)
		}
		part[k] = r.Partition
		if prev, ok := last[k]; ok && prev > v {
			t.Fatalf("key %s out of order: %d after %d", k, v, prev)
		}
		last[k] = v
	}
}

// member tracks the partitions a group member owns, through the rebalance callbacks.
type member struct {
	mu    sync.Mutex
	owned map[int32]bool
}

func (m *member) opts() []kgo.Opt {
	m.owned = map[int32]bool{}
	return []kgo.Opt{
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range a["g"] {
				m.owned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range r["g"] {
				delete(m.owned, p)
			}
		}),
	}
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.owned))
}

func TestConsumerGroupSplitsPartitions(t *testing.T) {
	b := broker.ForTest(t)
	createTopic(t, b, "g", 4, nil)
	opts := []kgo.Opt{kgo.ConsumerGroup("grp"), kgo.ConsumeTopics("g"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	var s1, s2 member
	m1 := newClient(t, b, append(opts, s1.opts()...)...)
	m2 := newClient(t, b, append(opts, s2.opts()...)...)

	// Poll both members until the group settled with every partition owned once.
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		for _, m := range []*kgo.Client{m1, m2} {
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			m.PollFetches(pctx)
			pcancel()
		}
		a1, a2 := s1.partitions(), s2.partitions()
		if len(a1) > 0 && len(a2) > 0 && len(a1)+len(a2) == 4 {
			all := slices.Sorted(slices.Values(append(a1, a2...)))
			if !slices.Equal(all, []int32{0, 1, 2, 3}) {
				t.Fatalf("members own %v and %v, want a split of 0..3", a1, a2)
			}
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("group never split: member 1 owns %v, member 2 owns %v", a1, a2)
		}
	}
}

// A cluster of several brokers spreads partition leaders over them, serves
// produce and consume through every one, and keeps its data across a restart.
func TestSeveralBrokers(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{Brokers: 3, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.Addrs()); got != 3 {
		t.Fatalf("%d addresses, want 3", got)
	}
	createTopic(t, b, "spread", 6, nil)
	adm := kadm.NewClient(newClient(t, b))
	ctx := t.Context()
	meta, err := adm.Metadata(ctx, "spread")
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.Brokers) != 3 {
		t.Fatalf("metadata names %d brokers, want 3", len(meta.Brokers))
	}
	leaders := map[int32]bool{}
	for _, p := range meta.Topics["spread"].Partitions {
		leaders[p.Leader] = true
	}
	if len(leaders) < 2 {
		t.Fatalf("every partition led by the same broker: %v", leaders)
	}
	pr := newClient(t, b, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	for i := range 60 {
		if err := pr.ProduceSync(ctx, &kgo.Record{Topic: "spread", Value: fmt.Appendf(nil, "v%d", i)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()

	b, err = broker.Start(broker.Config{Brokers: 3, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cl := newClient(t, b, kgo.ConsumeTopics("spread"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]bool{}
	for _, r := range consumeN(t, cl, 60) {
		got[string(r.Value)] = true
	}
	if len(got) != 60 {
		t.Fatalf("read %d distinct values after the restart, want 60", len(got))
	}
}
