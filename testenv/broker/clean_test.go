package broker_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
)

// tableConfigs are a compacted table's configs as sluice's topics plan sets
// them (retention.ms -1, tombstones kept an hour).
func tableConfigs() map[string]*string {
	compact, never, hour := "compact", "-1", "3600000"
	return map[string]*string{"cleanup.policy": &compact, "retention.ms": &never, "retention.bytes": &never, "delete.retention.ms": &hour}
}

// onDisk reports whether any file under dir holds s.
func onDisk(t *testing.T, dir, s string) bool {
	t.Helper()
	found := false
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if found || !de.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil && !os.IsNotExist(err) {
			return err
		}
		found = bytes.Contains(b, []byte(s))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// readTable reads a one-partition topic to its end: the latest value per
// key ("" for a tombstone) and how many records were read.
func readTable(t *testing.T, b *broker.Broker, topic string) (map[string]string, int) {
	t.Helper()
	adm := kadm.NewClient(newClient(t, b))
	ends, err := adm.ListEndOffsets(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	end := ends[topic][0].Offset
	cl := newClient(t, b, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, n, next := map[string]string{}, 0, int64(0)
	for next < end {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("%s: read to %d of %d", topic, next, end)
		}
		fs.EachRecord(func(r *kgo.Record) {
			next = r.Offset + 1
			if r.Attrs.IsControl() {
				return
			}
			n++
			got[string(r.Key)] = string(r.Value)
		})
	}
	return got, n
}

func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// A tombstone that is its partition's last record deletes the value it
// replaces at the next scheduled cleaning, from the broker's files too.
// kfake's own compaction (Compact) leaves it, as Kafka leaves the active
// segment: the test shows both.
func TestCleanDropsTheValueOfALastTombstone(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{DataDir: dir, CleanEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	createTopic(t, b, "profiles", 1, tableConfigs())
	gone, kept := "email-"+rand.Text(), "email-"+rand.Text()
	prod := newClient(t, b, kgo.DefaultProduceTopic("profiles"))
	produce(t, prod, &kgo.Record{Key: []byte("acme/kept"), Value: []byte(`{"email":"` + kept + `"}`)})
	produce(t, prod, &kgo.Record{Key: []byte("acme/gone"), Value: []byte(`{"email":"` + gone + `"}`)})
	produce(t, prod, &kgo.Record{Key: []byte("acme/gone")}) // the tombstone, last
	if !onDisk(t, dir, gone) || !onDisk(t, dir, kept) {
		t.Fatal("the values are not in the data directory: the scan cannot see them")
	}

	b.Compact()
	if !onDisk(t, dir, gone) {
		t.Fatal("kfake's compaction dropped a value whose tombstone is the last record: Clean's marker is no longer needed")
	}

	if err := b.Clean(t.Context()); err != nil {
		t.Fatal(err)
	}
	if onDisk(t, dir, gone) {
		t.Error("after Clean the tombstoned value is still in the data directory")
	}
	if !onDisk(t, dir, kept) {
		t.Error("after Clean another key's value is gone from the data directory")
	}
	got, n := readTable(t, b, "profiles")
	if got["acme/kept"] == "" || got["acme/gone"] != "" || n != 2 {
		t.Errorf("after Clean consumers read %v (%d records), want acme/kept's value and acme/gone's tombstone", got, n)
	}

	// Cleaning again with nothing new writes nothing.
	adm := kadm.NewClient(newClient(t, b))
	before, _ := adm.ListEndOffsets(t.Context(), "profiles")
	if err := b.Clean(t.Context()); err != nil {
		t.Fatal(err)
	}
	after, _ := adm.ListEndOffsets(t.Context(), "profiles")
	if before["profiles"][0].Offset != after["profiles"][0].Offset {
		t.Errorf("a Clean with no new records moved the end offset %d → %d", before["profiles"][0].Offset, after["profiles"][0].Offset)
	}
}

// The broker cleans on its own schedule: a value tombstoned last leaves the
// data directory without anyone calling Clean, and stays gone after a
// restart, while another key's value stays.
func TestScheduledCleaningForgetsTombstonedValues(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{DataDir: dir, CleanEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, b, "consent", 3, tableConfigs())
	gone, kept := "phone-"+rand.Text(), "phone-"+rand.Text()
	prod := newClient(t, b, kgo.DefaultProduceTopic("consent"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produce(t, prod, &kgo.Record{Key: []byte("acme/u0"), Value: []byte(`{"phone":"` + kept + `"}`), Partition: 1})
	produce(t, prod, &kgo.Record{Key: []byte("acme/u1"), Value: []byte(`{"phone":"` + gone + `"}`), Partition: 1})
	waitDisk(t, dir, func() bool { return onDisk(t, dir, gone) && onDisk(t, dir, kept) }, "the values to reach the data directory")
	produce(t, prod, &kgo.Record{Key: []byte("acme/u1"), Partition: 1})
	// The same partition's kept value is the sign that the scan did not
	// fall between the removal of the old segment and the new one's write.
	waitDisk(t, dir, func() bool { return !onDisk(t, dir, gone) && onDisk(t, dir, kept) }, "the scheduled cleaning to drop the tombstoned value")
	// Decisive: what a restarted broker reads back.
	b.Close()
	b2, err := broker.Start(broker.Config{DataDir: dir, CleanEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b2.Close)
	if onDisk(t, dir, gone) {
		t.Error("after a restart the tombstoned value is back in the data directory")
	}
	if !onDisk(t, dir, kept) {
		t.Error("after a restart another key's value is gone from the data directory")
	}
}

// waitDisk polls cond for up to 30s.
func waitDisk(t *testing.T, dir string, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s in %s", what, dir)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Compacted topics never expire by age on the embedded broker, with
// retention.ms -1 (as sluice's topics plan sets it) or without any
// retention.ms (kfake's default would be 7 days); a delete-policy topic
// still does.
func TestCompactedTopicsNeverExpire(t *testing.T) {
	b := broker.ForTest(t, broker.Config{CleanEvery: -1})
	compact, second := "compact", "1000"
	createTopic(t, b, "planned", 1, tableConfigs())
	createTopic(t, b, "bare", 1, map[string]*string{"cleanup.policy": &compact})
	createTopic(t, b, "stream", 1, map[string]*string{"retention.ms": &second})
	old := time.Now().Add(-30 * 24 * time.Hour)
	prod := newClient(t, b)
	for _, topic := range []string{"planned", "bare", "stream"} {
		produce(t, prod, &kgo.Record{Topic: topic, Key: []byte("acme/u1"), Value: []byte("v"), Timestamp: old},
			&kgo.Record{Topic: topic, Key: []byte("acme/u2"), Value: []byte("v"), Timestamp: old})
	}
	if err := b.Clean(t.Context()); err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(newClient(t, b))
	starts, err := adm.ListStartOffsets(t.Context(), "planned", "bare", "stream")
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"planned", "bare"} {
		if o := starts[topic][0].Offset; o != 0 {
			t.Errorf("%s: records expired by age (log start offset %d)", topic, o)
		}
		if got, n := readTable(t, b, topic); n != 2 || got["acme/u1"] != "v" {
			t.Errorf("%s: read %v (%d records) after cleaning", topic, got, n)
		}
	}
	if o := starts["stream"][0].Offset; o == 0 {
		t.Error("stream: a delete-policy topic kept month-old records past retention.ms: the check proves nothing")
	}
}

// A roll the cleaner left open when its process died (its transaction
// restored by the next broker on the data dir) is aborted before Start
// returns: it does not hold the compacted topics' read-committed readers
// back until its timeout.
func TestStartAbortsARollLeftOpen(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{DataDir: dir, CleanEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	createTopic(t, b, "table", 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")})
	// The cleaner's transactional id, mid-roll: a transaction holding a
	// record of the partition, never ended.
	roll, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("sluice.broker.log-cleaner"),
		kgo.TransactionTimeout(10*time.Minute), kgo.DefaultProduceTopic("table"))
	if err != nil {
		t.Fatal(err)
	}
	defer roll.Close()
	if err := roll.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := roll.ProduceSync(t.Context(), &kgo.Record{Key: []byte("k"), Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	b.Close() // the transaction is saved open, as after a kill mid-roll

	b2, err := broker.Start(broker.Config{DataDir: dir, CleanEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b2.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	end, err := adm.ListEndOffsets(t.Context(), "table")
	if err == nil {
		err = end.Error()
	}
	stable, err2 := adm.ListCommittedOffsets(t.Context(), "table")
	if err = errors.Join(err, err2); err == nil {
		err = stable.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	e, _ := end.Lookup("table", 0)
	s, _ := stable.Lookup("table", 0)
	if e.Offset == 0 || s.Offset != e.Offset {
		t.Fatalf("after the restart: end offset %d, last stable offset %d: the roll is still open", e.Offset, s.Offset)
	}
}

// A transaction open when the process was killed is aborted when the next
// broker loads the data dir, without an abort marker; the marker each
// partition gets at Start lets a read-committed reader see the partition's
// last stable offset at once, rather than at its next record: a compacted
// table and a stream alike.
func TestPartitionsAreReadableToTheirEndAfterAKill(t *testing.T) {
	dir := t.TempDir()
	b, err := broker.Start(broker.Config{DataDir: dir, CleanEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	createTopic(t, b, "table", 1, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")})
	createTopic(t, b, "stream", 1, nil)
	plain, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	txn, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("a-router"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"table", "stream"} {
		if err := plain.ProduceSync(t.Context(), &kgo.Record{Topic: topic, Key: []byte("k1"), Value: []byte("v1")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := txn.ProduceSync(t.Context(), &kgo.Record{Topic: topic, Key: []byte("k2"), Value: []byte("v2")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// The data dir as a kill -9 leaves it: every write made, nothing saved
	// at shutdown.
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}

	b2, err := broker.Start(broker.Config{DataDir: crashed, CleanEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	for _, topic := range []string{"table", "stream"} {
		readToTheEnd(t, b2, topic)
	}
}

// readToTheEnd reads topic's partition 0 as a table follower does (read
// committed, markers kept) until it has seen the record before the last
// stable offset; the aborted record must not be among what it saw.
func readToTheEnd(t *testing.T, b *broker.Broker, topic string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	stable, err := kadm.NewClient(cl).ListCommittedOffsets(t.Context(), topic)
	if err == nil {
		err = stable.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	end, _ := stable.Lookup(topic, 0)
	// Liveness bound: without the marker, only a new record would end it.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var seen []string
	next := int64(0)
	for next < end.Offset && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			seen = append(seen, fmt.Sprintf("%d:%s:control=%v", r.Offset, r.Key, r.Attrs.IsControl()))
			next = r.Offset + 1
		})
	}
	if next < end.Offset {
		t.Fatalf("%s: the reader saw %v and waits for offset %d: the aborted transaction's tail hides the end", topic, seen, end.Offset-1)
	}
	for _, s := range seen {
		if strings.Contains(s, ":k2:") {
			t.Fatalf("%s: the aborted record was read: %v", topic, seen)
		}
	}
}
