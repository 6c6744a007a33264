package tables_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/tables"
)

// table is a map guarded for the test's reads while the follower writes.
type table struct {
	mu sync.Mutex
	m  map[string]string
}

func (t *table) apply(key, value []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if value == nil {
		delete(t.m, string(key))
		return
	}
	t.m[string(key)] = string(value)
}

func (t *table) get(key string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.m[key]
	return v, ok
}

func setup(t *testing.T) (*broker.Broker, *kgo.Client) {
	t.Helper()
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	compact := "compact"
	if _, err := kadm.NewClient(cl).CreateTopic(t.Context(), 3, 1, map[string]*string{"cleanup.policy": &compact}, "tbl"); err != nil {
		t.Fatal(err)
	}
	return b, cl
}

func follow(t *testing.T, b *broker.Broker, tb *table) *tables.Follower {
	t.Helper()
	f, err := tables.New([]string{b.Addr()}, map[string]tables.Handler{"tbl": tb.apply})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return f
}

// Everything acknowledged before CatchUp is applied when it returns, including
// tombstones and records written inside transactions (whose markers occupy the
// last offsets of the partition).
func TestCatchUpAppliesEverythingAcknowledgedBefore(t *testing.T) {
	b, cl := setup(t)
	for i := range 50 {
		r := &kgo.Record{Topic: "tbl", Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v1")}
		if err := cl.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	txn, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("writer"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		r := &kgo.Record{Topic: "tbl", Key: fmt.Appendf(nil, "k%d", i), Value: []byte("v2")}
		if i%10 == 0 {
			r.Value = nil
		}
		if err := txn.ProduceSync(t.Context(), r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := txn.EndTransaction(t.Context(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	tb := &table{m: map[string]string{}}
	f := follow(t, b, tb)
	if f.Ready() {
		t.Fatal("Ready before the first catch-up")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if !f.Ready() {
		t.Fatal("not Ready after catching up")
	}
	for i := range 50 {
		v, ok := tb.get(fmt.Sprintf("k%d", i))
		switch {
		case i%10 == 0 && ok:
			t.Fatalf("k%d = %q after its tombstone", i, v)
		case i%10 != 0 && v != "v2":
			t.Fatalf("k%d = %q, want v2", i, v)
		}
	}

	// A write acknowledged after the first catch-up is visible after the next.
	if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "tbl", Key: []byte("late"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _ := tb.get("late"); v != "x" {
		t.Fatalf("late = %q after catch-up, want x", v)
	}
}

// An open transaction is not waited for (read-committed end offsets) and its
// records are not applied before it commits.
func TestCatchUpIgnoresOpenTransactions(t *testing.T) {
	b, _ := setup(t)
	txn, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID("slow"))
	if err != nil {
		t.Fatal(err)
	}
	defer txn.Close()
	if err := txn.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := txn.ProduceSync(t.Context(), &kgo.Record{Topic: "tbl", Key: []byte("pending"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tb := &table{m: map[string]string{}}
	f := follow(t, b, tb)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.get("pending"); ok {
		t.Fatal("applied a record of an uncommitted transaction")
	}
	if err := txn.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if err := f.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := tb.get("pending"); !ok {
		t.Fatal("committed record not applied after catch-up")
	}
}
