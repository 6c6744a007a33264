package broker_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
)

// A broker restarted on the same data directory keeps its topics, records and
// committed group offsets: what `sluice dev` relies on across restarts.
func TestRestartKeepsTopicsAndOffsets(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, b, "kept", 2, nil)
	prod := newClient(t, b, kgo.DefaultProduceTopic("kept"))
	for i := range 10 {
		if err := prod.ProduceSync(t.Context(), &kgo.Record{Key: []byte{byte(i)}, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	cons := newClient(t, b, kgo.ConsumerGroup("keeper"), kgo.ConsumeTopics("kept"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	consumeN(t, cons, 10)
	if err := cons.CommitUncommittedOffsets(t.Context()); err != nil {
		t.Fatal(err)
	}
	cons.Close()
	prod.Close()
	b.Close()

	b2, err := broker.Start(broker.Config{DataDir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(b2.Close)
	adm := kadm.NewClient(newClient(t, b2))
	ends, err := adm.ListEndOffsets(t.Context(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 10 {
		t.Fatalf("after restart topic holds %d records, want 10", total)
	}
	committed, err := adm.FetchOffsets(t.Context(), "keeper")
	if err != nil {
		t.Fatal(err)
	}
	var done int64
	committed.Each(func(o kadm.OffsetResponse) { done += o.At })
	if done != 10 {
		t.Fatalf("after restart group committed %d, want 10", done)
	}
}
