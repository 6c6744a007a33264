package shred

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Concurrent requests of one process create one key per subject, written
// before any of them returns; the records written unwrap in another table.
func TestCreatorCreatesOneKeyPerSubject(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	tb := readyTable(t, k)
	var (
		mu      sync.Mutex
		written []Record
		calls   atomic.Int32
	)
	c := NewCreator(tb, func(_ context.Context, recs []Record) error {
		calls.Add(1)
		time.Sleep(5 * time.Millisecond) // the broker's round trip
		mu.Lock()
		written = append(written, recs...)
		mu.Unlock()
		return nil
	})
	subjects := []Subject{{"acme", UserID, "u1"}, {"acme", AnonymousID, "a1"}, {"acme", UserID, "u1"}}
	var wg sync.WaitGroup
	got := make([][]KeyID, 16)
	for i := range got {
		wg.Go(func() {
			got[i] = make([]KeyID, len(subjects))
			if err := c.Ensure(t.Context(), subjects, got[i]); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(written) != 2 {
		t.Fatalf("%d key records written in %d calls, want 2", len(written), calls.Load())
	}
	for _, ids := range got {
		if ids[0] != got[0][0] || ids[1] != got[0][1] || ids[2] != ids[0] {
			t.Fatalf("requests got different keys: %v vs %v", ids, got[0])
		}
	}
	other := readyTable(t, k, written...)
	env, err := c.SealFor(t.Context(), nil, subjects[0], []byte("payload"))
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 2 {
		t.Fatal("SealFor created a key for a subject that has one")
	}
	if out, id, err := other.Open(nil, env); err != nil || string(out) != "payload" || id != got[0][0] {
		t.Fatalf("another process's table: %q, %v, %v", out, id, err)
	}
}

// A key whose record the broker did not acknowledge is never used, and the
// next request tries again.
func TestCreatorFailedWriteIsNotUsed(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	tb := readyTable(t, k)
	fail := true
	c := NewCreator(tb, func(context.Context, []Record) error {
		if fail {
			return errors.New("not enough replicas")
		}
		return nil
	})
	s := Subject{"acme", UserID, "u1"}
	if _, err := c.SealFor(t.Context(), nil, s, []byte("x")); err == nil {
		t.Fatal("sealed under a key that was not written")
	}
	if _, ok := tb.Current(s); ok {
		t.Fatal("an unwritten key is current")
	}
	fail = false
	if _, err := c.SealFor(t.Context(), nil, s, []byte("x")); err != nil {
		t.Fatal(err)
	}
}

// A subject whose key is shredded gets a new key: its later events are new
// data under a new key, and the shredded one stays shredded.
func TestCreatorAfterShredCreatesANewKey(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	tb := readyTable(t, k)
	c := NewCreator(tb, func(context.Context, []Record) error { return nil })
	s := Subject{"acme", UserID, "u1"}
	ids := make([]KeyID, 1)
	if err := c.Ensure(t.Context(), []Subject{s}, ids); err != nil {
		t.Fatal(err)
	}
	first := ids[0]
	ts := Tombstone(s, first)
	if err := tb.Apply(ts.Key, ts.Value); err != nil {
		t.Fatal(err)
	}
	if err := c.Ensure(t.Context(), []Subject{s}, ids); err != nil {
		t.Fatal(err)
	}
	if ids[0] == first || tb.Alive(first) {
		t.Fatalf("after the shred: key %v (first %v, alive %v)", ids[0], first, tb.Alive(first))
	}
}

func TestCreatorWaitsForTheTable(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	tb := NewTable(k)
	c := NewCreator(tb, func(context.Context, []Record) error { return nil })
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := c.Ensure(ctx, []Subject{{"acme", UserID, "u1"}}, make([]KeyID, 1)); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Ensure before catch-up: %v, want ErrNotReady", err)
	}
}
