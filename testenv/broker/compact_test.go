package broker_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
)

// Compaction keeps the latest value per key and drops tombstoned keys: the
// property every sluice table (suppressions, consent, …) relies on.
func TestCompactionKeepsLatestAndDropsTombstones(t *testing.T) {
	b := broker.ForTest(t)
	compact, zero := "compact", "0"
	createTopic(t, b, "table", 1, map[string]*string{
		"cleanup.policy":        &compact,
		"delete.retention.ms":   &zero, // tombstones may go at the next compaction
		"min.compaction.lag.ms": &zero,
	})
	prod := newClient(t, b, kgo.DefaultProduceTopic("table"))
	writes := []struct{ key, value string }{
		{"alice", "v1"}, {"bob", "v1"}, {"alice", "v2"}, {"carol", "v1"}, {"bob", ""}, {"alice", "v3"},
		// As in Kafka, the active (last) batch is never cleaned: this one
		// stands in for it so every write above is eligible.
		{"zed", "end"},
	}
	for _, w := range writes {
		r := &kgo.Record{Key: []byte(w.key)}
		if w.value != "" {
			r.Value = []byte(w.value)
		}
		if err := prod.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	b.Compact()

	cons := newClient(t, b, kgo.ConsumeTopics("table"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := map[string]string{}
	n := 0
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Read until the end offset (6): compaction leaves offsets, removes records.
	for {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			n++
			got[string(r.Key)] = string(r.Value)
		})
		if fs.NumRecords() > 0 && lastOffset(fs) == int64(len(writes)-1) {
			break
		}
	}
	want := map[string]string{"alice": "v3", "carol": "v1", "zed": "end"}
	if !maps.Equal(got, want) {
		t.Fatalf("after compaction got %v, want %v", got, want)
	}
	if n != len(want) {
		t.Fatalf("after compaction read %d records, want %d (superseded values and tombstones removed)", n, len(want))
	}
}

func lastOffset(fs kgo.Fetches) int64 {
	var last int64 = -1
	fs.EachRecord(func(r *kgo.Record) { last = max(last, r.Offset) })
	return last
}
