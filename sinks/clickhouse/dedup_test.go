package clickhouse

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
	"github.com/sluicehq/sluice/testenv/broker"
)

// The server's insert deduplication alone (look-ups off) drops a batch
// written again, by the same sink or by another one.
func TestInsertDeduplicationToken(t *testing.T) {
	d := newDest(t)
	events := sinktest.Events("token", 60)
	b := sinktest.NewBatch("sluice.dest.warehouse", 0, 100, events)
	for range 2 {
		s := d.open(t)
		s.noLookup = true
		for range 2 {
			if err := s.Write(t.Context(), b); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := len(d.Delivered(t)); got != len(events) {
		t.Fatalf("%d rows after writing the same batch four times, want %d", got, len(events))
	}
	users := map[string]bool{}
	for _, e := range events {
		if e.Type == schemas.Identify && e.UserID != "" {
			users[e.UserID] = true
		}
	}
	if n := d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+".users"); n != uint64(len(users)) {
		t.Errorf("users holds %d rows, want one per identified user (%d)", n, len(users))
	}
	// A subset of the batch (a retry after a partial failure) has another
	// token: it is not mistaken for the batch and dropped.
	if sinktest.Slice(b, 0, 59).Token() == b.Token() {
		t.Fatal("a subset shares the batch's token")
	}
}

// A sink "crashes" between its insert and the offset commit: the consumer
// group's next member re-reads from the last commit, cutting batches
// differently, and the tables still hold each event once.
func TestCrashBetweenInsertAndCommit(t *testing.T) {
	br := broker.ForTest(t)
	d := newDest(t)
	ctx := t.Context()
	const topic, group, n = "sluice.dest.warehouse", "sluice-sink-warehouse", 600
	adm := kadm.NewClient(newClient(t, br.Addr()))
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	producer := newClient(t, br.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	events := sinktest.Events("crash", n)
	for i := range events {
		e := &events[i]
		r := &kgo.Record{Topic: topic, Partition: int32(i % 3), Key: e.AppendKey(nil), Value: e.AppendRaw(nil)}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// First member: commits the first batch of each partition, writes the
	// second, then dies before committing it.
	first := d.open(t)
	consume(t, br.Addr(), group, topic, first, 70, 2, 1)
	// Second member: batches of 45 from the last commits to the end.
	second := d.open(t)
	consume(t, br.Addr(), group, topic, second, 45, -1, -1)

	got := d.Delivered(t)
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, e := range events {
		if seen[e.MessageID] != 1 {
			t.Errorf("%s delivered %d times", e.MessageID, seen[e.MessageID])
		}
	}
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
}

func newClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	c, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// consume plays the delivery engine: it reads the topic as a group member,
// writes batches of size per partition, and commits after each Write until
// commits batches have been committed per partition; it stops after
// writes batches per partition (-1: at the end of the topic).
func consume(t *testing.T, addr, group, topic string, s sinks.Sink, size, writes, commits int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.DisableAutoCommit(), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close() // leaves the group without committing
	pending := map[int32][]*kgo.Record{}
	written, committed := map[int32]int{}, map[int32]int{}
	idle := 0
	for {
		// PollFetches waits for records: a short wait that ends empty
		// means the member has caught up.
		pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		fetches := cl.PollFetches(pctx)
		pcancel()
		if err := fetches.Err0(); err != nil && pctx.Err() == nil {
			t.Fatal(err)
		}
		if fetches.NumRecords() == 0 {
			idle++
		} else {
			idle = 0
		}
		fetches.EachRecord(func(r *kgo.Record) { pending[r.Partition] = append(pending[r.Partition], r) })
		done := true
		for p := range int32(3) {
			for (len(pending[p]) >= size || idle > 3 && len(pending[p]) > 0) && (writes < 0 || written[p] < writes) {
				recs := pending[p][:min(size, len(pending[p]))]
				pending[p] = pending[p][len(recs):]
				b := sinks.Batch{Topic: topic, Partition: p, FirstOffset: recs[0].Offset, LastOffset: recs[len(recs)-1].Offset}
				for _, r := range recs {
					var e schemas.Event
					if err := schemas.DecodeRaw(r.Value, &e); err != nil {
						t.Fatal(err)
					}
					b.Events, b.Offsets = append(b.Events, e), append(b.Offsets, r.Offset)
				}
				if err := s.Write(ctx, b); err != nil {
					t.Fatal(err)
				}
				written[p]++
				if commits < 0 || committed[p] < commits {
					if err := cl.CommitRecords(ctx, recs[len(recs)-1]); err != nil {
						t.Fatal(err)
					}
					committed[p]++
				}
			}
			if writes >= 0 && written[p] < writes || writes < 0 && (idle <= 3 || len(pending[p]) > 0) {
				done = false
			}
		}
		if done {
			return
		}
	}
}

func TestRowsRoundTrip(t *testing.T) {
	// The row of every call type, read back column by column.
	d := newDest(t)
	s := d.open(t)
	events := sinktest.Events("cols", 6)
	events[0].SentAt = time.Time{}
	if err := s.Write(t.Context(), sinktest.NewBatch("sluice.dest.warehouse", 2, 7, events)); err != nil {
		t.Fatal(err)
	}
	q := func(table string, cols ...string) string {
		got := d.strings(t, row(cols...)+" FROM "+quoteIdent(d.db)+"."+quoteIdent(table))
		if len(got) != 1 {
			t.Fatalf("%s: %d rows", table, len(got))
		}
		return got[0]
	}
	for _, tc := range []struct {
		table string
		cols  []string
		want  string
	}{
		{tableTracks, []string{"message_id", "workspace", "source", "user_id", "anonymous_id", "event", "timestamp", "original_timestamp",
			"sent_at", "received_at", "context.library.name", "properties.product_id", "properties.price", "plan", "plan_version",
			"event_version", "kafka_topic", "kafka_partition", "kafka_offset", "loaded_at > received_at"},
			"cols-0|acme|web|user-0|anon-0|Product Viewed|2026-05-01 11:59:59.700|2026-05-01 12:00:01.700|NULL|2026-05-01 12:00:00.000|analytics.js|sku-0|0.5||0|0|sluice.dest.warehouse|2|7|1"},
		{tableIdentifies, []string{"message_id", "user_id", "traits.email", "traits.logins"}, "cols-1|user-1|user1@acme.example|1"},
		{tablePages, []string{"message_id", "name", "category", "properties.title"}, "cols-2|Product|Shop|Product 2"},
		{tableScreens, []string{"message_id", "name", "properties.items", "kafka_offset"}, "cols-3|Cart|2|10"},
		{tableGroups, []string{"message_id", "user_id", "anonymous_id", "group_id", "traits.employees"}, "cols-4||anon-4|org-1|42"},
		{tableAliases, []string{"message_id", "user_id", "previous_id"}, "cols-5|user-5|anon-5"},
		{tableUsers, []string{"user_id", "anonymous_id", "traits.plan", "message_id", "kafka_offset"}, "user-1|anon-1|pro|cols-1|8"},
	} {
		if got := q(tc.table, tc.cols...); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.table, got, tc.want)
		}
	}
}
