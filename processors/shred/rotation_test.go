package shred

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Rotation: a new current KEK wraps new keys while envelopes sealed under
// keys wrapped by the old one still open; re-wrapping moves every key under
// the new KEK, after which a keyring without the old KEK opens everything;
// a keyring without it before the re-wrap fails closed.
func TestKEKRotation(t *testing.T) {
	k1, k2 := testKEK("k1", 1), testKEK("k2", 2)
	before := mustKeyring(t, "k1", k1)
	during := mustKeyring(t, "k2", k1, k2)
	after := mustKeyring(t, "k2", k2)

	old := Subject{"acme", UserID, "old"}
	oldID, oldDEK := NewKeyID(), NewDEK()
	oldRec := before.WrapRecord(old, oldID, &oldDEK, time.Now())
	oldEnv := Seal(nil, oldID, &oldDEK, []byte("sealed before the rotation"))

	// During: k2 is current, the old key still opens.
	tb := readyTable(t, during, oldRec)
	if out, _, err := tb.Open(nil, oldEnv); err != nil || string(out) != "sealed before the rotation" {
		t.Fatalf("old envelope during the rotation: %q, %v", out, err)
	}
	var written []Record
	c := NewCreator(tb, func(_ context.Context, recs []Record) error { written = append(written, recs...); return nil })
	newSub := Subject{"acme", UserID, "new"}
	newEnv, err := c.SealFor(t.Context(), nil, newSub, []byte("sealed after"))
	if err != nil {
		t.Fatal(err)
	}
	if st := tb.Stats(); st.ByKEK["k1"] != 1 || st.ByKEK["k2"] != 1 {
		t.Fatalf("Stats.ByKEK = %v, want one key under each", st.ByKEK)
	}

	// Removing k1 now would lose the old key: it fails closed.
	early := lenientTable(after, append([]Record{oldRec}, written...)...)
	if _, _, err := early.Open(nil, oldEnv); !errors.Is(err, ErrUnwrappable) {
		t.Fatalf("old envelope without k1 before the re-wrap: %v, want ErrUnwrappable", err)
	}
	if st := early.Stats(); st.Unwrappable["k1"] != 1 {
		t.Fatalf("Stats.Unwrappable = %v, want k1: 1", st.Unwrappable)
	}
	if ids := early.KeyIDs(old); len(ids) != 1 || ids[0] != oldID {
		t.Fatalf("KeyIDs of an unwrappable subject = %v: shredding must still find it", ids)
	}

	// The re-wrap: only the key under k1, same id, now under k2.
	rw := tb.Rewrap(time.Now(), 100)
	if len(rw) != 1 {
		t.Fatalf("Rewrap = %d records, want 1", len(rw))
	}
	if _, id, err := ParseRecordKey(rw[0].Key); err != nil || id != oldID {
		t.Fatalf("re-wrapped record key %q", rw[0].Key)
	}
	for _, r := range rw {
		if err := tb.Apply(r.Key, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	if st := tb.Stats(); st.ByKEK["k1"] != 0 || st.ByKEK["k2"] != 2 {
		t.Fatalf("after the re-wrap Stats.ByKEK = %v, want every key under k2", st.ByKEK)
	}
	if len(tb.Rewrap(time.Now(), 100)) != 0 {
		t.Fatal("a second re-wrap pass found work")
	}

	// After: k1 retired. The compacted topic holds the re-wrapped record
	// (the original precedes it until compaction; both orders must work).
	for _, recs := range [][]Record{append(append([]Record{oldRec}, written...), rw...), append(written, rw...)} {
		retired := lenientTable(after, recs...)
		for env, want := range map[string]string{string(oldEnv): "sealed before the rotation", string(newEnv): "sealed after"} {
			out, _, err := retired.Open(nil, []byte(env))
			if err != nil || string(out) != want {
				t.Fatalf("with k1 retired: %q, %v; want %q", out, err, want)
			}
		}
	}
}
