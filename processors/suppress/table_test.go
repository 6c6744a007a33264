package suppress

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

func mustKey(t testing.TB, ws string, typ SubjectType, id string) []byte {
	t.Helper()
	k, err := Key(ws, typ, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readyTable(t testing.TB) *Table {
	tab := NewTable(NewHasher())
	tab.MarkCaughtUp()
	return tab
}

func TestTableApply(t *testing.T) {
	val := []byte(`{"regulationId":"r1"}`)
	type op struct {
		key   string
		value []byte
	}
	type probe struct {
		typ  SubjectType
		id   string
		want bool
	}
	cases := []struct {
		name   string
		ops    []op
		probes []probe
		len    int
	}{
		{"suppress", []op{{"acme/USER_ID/u1", val}},
			[]probe{{UserID, "u1", true}, {AnonymousID, "u1", false}, {UserID, "u2", false}}, 1},
		{"tombstone unsuppresses", []op{{"acme/USER_ID/u1", val}, {"acme/USER_ID/u1", nil}},
			[]probe{{UserID, "u1", false}}, 0},
		{"resuppress after tombstone", []op{{"acme/USER_ID/u1", val}, {"acme/USER_ID/u1", nil}, {"acme/USER_ID/u1", val}},
			[]probe{{UserID, "u1", true}}, 1},
		{"repeated value is idempotent", []op{{"acme/USER_ID/u1", val}, {"acme/USER_ID/u1", []byte(`{"regulationId":"r2"}`)}},
			[]probe{{UserID, "u1", true}}, 1},
		{"tombstone of absent key", []op{{"acme/USER_ID/u1", nil}},
			[]probe{{UserID, "u1", false}}, 0},
		{"damaged value still suppresses", []op{{"acme/ANONYMOUS_ID/a1", []byte("not json")}},
			[]probe{{AnonymousID, "a1", true}}, 1},
		{"empty non-nil value suppresses", []op{{"acme/ANONYMOUS_ID/a1", []byte{}}},
			[]probe{{AnonymousID, "a1", true}}, 1},
		{"other workspace untouched", []op{{"other/USER_ID/u1", val}},
			[]probe{{UserID, "u1", false}}, 1},
		{"id with slashes", []op{{"acme/USER_ID/a/b", val}},
			[]probe{{UserID, "a/b", true}, {UserID, "a", false}}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tab := readyTable(t)
			for _, o := range c.ops {
				if err := tab.Apply([]byte(o.key), o.value); err != nil {
					t.Fatalf("Apply(%s): %v", o.key, err)
				}
			}
			for _, p := range c.probes {
				got, err := tab.Suppressed("acme", p.typ, p.id)
				if err != nil || got != p.want {
					t.Errorf("Suppressed(acme,%s,%s) = %v, %v; want %v", p.typ, p.id, got, err, p.want)
				}
			}
			if tab.Len() != c.len {
				t.Errorf("Len = %d, want %d", tab.Len(), c.len)
			}
		})
	}
}

func TestTableBadKeyChangesNothing(t *testing.T) {
	tab := readyTable(t)
	for _, k := range []string{"acme", "acme/EMAIL/x", "acme/USER_ID/", "/USER_ID/x"} {
		if err := tab.Apply([]byte(k), []byte(`{}`)); !errors.Is(err, ErrBadKey) {
			t.Errorf("Apply(%q) err = %v, want ErrBadKey", k, err)
		}
	}
	if tab.Len() != 0 {
		t.Fatalf("Len = %d after bad keys", tab.Len())
	}
}

func TestTableNotReadyFailsClosed(t *testing.T) {
	tab := NewTable(NewHasher())
	got, err := tab.Suppressed("acme", UserID, "nobody")
	if !errors.Is(err, ErrNotReady) || !got {
		t.Fatalf("Suppressed before ready = %v, %v; want true, ErrNotReady", got, err)
	}
	tab.MarkCaughtUp()
	if got, err := tab.Suppressed("acme", UserID, "nobody"); err != nil || got {
		t.Fatalf("Suppressed after ready = %v, %v", got, err)
	}
}

// TestTableMatchesModel drives the table through growth, deletes and
// same-size cleanups and compares it with a map after every step batch.
func TestTableMatchesModel(t *testing.T) {
	tab := readyTable(t)
	model := map[string]bool{}
	rng := rand.New(rand.NewPCG(1, 2))
	const ids = 20000
	for step := 0; step < 200000; step++ {
		id := fmt.Sprint(rng.IntN(ids))
		k := mustKey(t, "acme", UserID, id)
		if rng.IntN(3) == 0 {
			tab.Apply(k, nil)
			delete(model, id)
		} else {
			tab.Apply(k, []byte{'1'})
			model[id] = true
		}
		if step%20000 == 0 || step == 199999 {
			for i := 0; i < ids; i++ {
				id := fmt.Sprint(i)
				got, _ := tab.Suppressed("acme", UserID, id)
				if got != model[id] {
					t.Fatalf("step %d: Suppressed(%s) = %v, model %v", step, id, got, model[id])
				}
			}
			if tab.Len() != len(model) {
				t.Fatalf("step %d: Len = %d, model %d", step, tab.Len(), len(model))
			}
		}
	}
}

// TestShardCollisions checks the probe logic with crafted fingerprints: keys
// that share a slot, or even the whole 64-bit hash, stay distinct, and
// removing one keeps the others reachable past its deleted slot.
func TestShardCollisions(t *testing.T) {
	tab := newShardTable(false)
	sameSlot := []fingerprint{{h: 1<<20 | 5, c: 1}, {h: 2<<20 | 5, c: 2}, {h: 3<<20 | 5, c: 3}}
	sameHash := []fingerprint{{h: 77, c: 1}, {h: 77, c: 2}}
	all := append(append([]fingerprint{}, sameSlot...), sameHash...)
	for _, k := range all {
		tab.put(k, fingerprint{})
	}
	tab.remove(sameSlot[1])
	tab.remove(sameHash[0])
	want := map[fingerprint]bool{sameSlot[0]: true, sameSlot[2]: true, sameHash[1]: true}
	for _, k := range all {
		if got := tab.contains(k); got != want[k] {
			t.Errorf("contains(%v) = %v, want %v", k, got, want[k])
		}
	}
	if tab.live.Load() != 3 {
		t.Errorf("live = %d, want 3", tab.live.Load())
	}
}

func TestReserve(t *testing.T) {
	tab := readyTable(t)
	tab.Reserve(100000)
	before := len(tab.set.shards[0].ctrl)
	for i := 0; i < 100000; i++ {
		tab.Apply(mustKey(t, "acme", UserID, fmt.Sprint(i)), []byte{'1'})
	}
	for i := range tab.set.shards {
		if n := len(tab.set.shards[i].ctrl); n != before {
			t.Fatalf("shard %d resized from %d to %d after Reserve", i, before, n)
		}
	}
	if tab.Len() != 100000 {
		t.Fatalf("Len = %d", tab.Len())
	}
}
