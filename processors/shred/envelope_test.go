package shred

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
	"time"
)

func TestSealOpenRoundTrip(t *testing.T) {
	id, dek := NewKeyID(), NewDEK()
	random := make([]byte, 5000)
	_, _ = rand.Read(random)
	for _, plain := range [][]byte{nil, []byte("{}"), []byte(`{"type":"track","userId":"u1","properties":{"email":"a@example.com"}}`),
		bytes.Repeat([]byte("x"), 1<<20), bytes.Repeat([]byte("y"), maxInflated+1), random} {
		env := Seal([]byte("prefix"), id, &dek, plain)
		env = env[len("prefix"):]
		if len(env) > len(plain)+Overhead {
			t.Fatalf("sealed %d bytes into %d, more than +%d", len(plain), len(env), Overhead)
		}
		if bytes.Contains(env, []byte("example.com")) {
			t.Fatal("the envelope holds the plaintext")
		}
		got, err := EnvelopeKeyID(env)
		if err != nil || got != id {
			t.Fatalf("EnvelopeKeyID = %v, %v; want %v", got, err, id)
		}
		out, err := Open(nil, &dek, env)
		if err != nil || !bytes.Equal(out, plain) {
			t.Fatalf("Open = %q, %v", out, err)
		}
	}
}

func TestSealIsRandomized(t *testing.T) {
	id, dek := NewKeyID(), NewDEK()
	a, b := Seal(nil, id, &dek, []byte("same")), Seal(nil, id, &dek, []byte("same"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: the nonce is not fresh")
	}
}

func TestOpenRefusesWrongKeyAndDamage(t *testing.T) {
	id, dek, other := NewKeyID(), NewDEK(), NewDEK()
	env := Seal(nil, id, &dek, []byte(`{"email":"a@example.com"}`))
	if _, err := Open(nil, &other, env); err == nil {
		t.Fatal("opened with a wrong key")
	}
	for i := range env {
		bad := bytes.Clone(env)
		bad[i] ^= 0x40
		if out, err := Open(nil, &dek, bad); err == nil {
			t.Fatalf("byte %d flipped: opened as %q", i, out)
		}
	}
	if _, err := Open(nil, &dek, env[:len(env)-1]); err == nil {
		t.Fatal("a truncated envelope opened")
	}
	if _, err := Open(nil, &dek, []byte(`{"type":"track"}`)); !errors.Is(err, ErrNotSealed) {
		t.Fatalf("plain JSON: %v, want ErrNotSealed", err)
	}
}

func TestTableOpensByKeyIDAndForgetsShreddedKeys(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	u1, u2 := Subject{"acme", UserID, "u1"}, Subject{"acme", AnonymousID, "a/2"}
	id1, id2 := NewKeyID(), NewKeyID()
	d1, d2 := NewDEK(), NewDEK()
	now := time.Now()
	tb := readyTable(t, k, k.WrapRecord(u1, id1, &d1, now), k.WrapRecord(u2, id2, &d2, now))

	e1, err := tb.Seal(nil, id1, []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	e2 := Seal(nil, id2, &d2, []byte("two")) // sealed elsewhere with the same key
	for _, c := range []struct {
		env  []byte
		want string
		id   KeyID
	}{{e1, "one", id1}, {e2, "two", id2}} {
		out, id, err := tb.Open(nil, c.env)
		if err != nil || string(out) != c.want || id != c.id {
			t.Fatalf("Open = %q, %v, %v", out, id, err)
		}
	}
	if got, ok := tb.Current(u2); !ok || got != id2 {
		t.Fatalf("Current(%v) = %v, %v", u2, got, ok)
	}

	ts := Tombstone(u1, id1)
	if err := tb.Apply(ts.Key, ts.Value); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Open(nil, e1); !errors.Is(err, ErrShredded) {
		t.Fatalf("after the tombstone: %v, want ErrShredded", err)
	}
	if _, err := tb.Seal(nil, id1, []byte("x")); !errors.Is(err, ErrShredded) {
		t.Fatalf("Seal after the tombstone: %v, want ErrShredded", err)
	}
	if _, ok := tb.Current(u1); ok {
		t.Fatal("a shredded subject still has a current key")
	}
	if out, _, err := tb.Open(nil, e2); err != nil || string(out) != "two" {
		t.Fatalf("the other subject: %q, %v", out, err)
	}
	// A new table reading the compacted topic (only the tombstone left of
	// u1) cannot open u1's envelope either.
	fresh := readyTable(t, k, ts, k.WrapRecord(u2, id2, &d2, now))
	if _, _, err := fresh.Open(nil, e1); !errors.Is(err, ErrShredded) {
		t.Fatalf("a fresh table: %v, want ErrShredded", err)
	}
}

func TestTableFailsClosedBeforeCatchUp(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	s, id, dek := Subject{"acme", UserID, "u1"}, NewKeyID(), NewDEK()
	tb := NewTable(k)
	r := k.WrapRecord(s, id, &dek, time.Now())
	if err := tb.Apply(r.Key, r.Value); err != nil {
		t.Fatal(err)
	}
	env := Seal(nil, id, &dek, []byte("x"))
	if _, _, err := tb.Open(nil, env); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Open before MarkCaughtUp: %v, want ErrNotReady", err)
	}
	if _, ok := tb.Current(s); ok {
		t.Fatal("Current answered before MarkCaughtUp")
	}
	tb.MarkCaughtUp()
	if _, _, err := tb.Open(nil, env); err != nil {
		t.Fatal(err)
	}
}

func TestResurrectedKeyStaysShredded(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	s, id, dek := Subject{"acme", UserID, "u1"}, NewKeyID(), NewDEK()
	rec := k.WrapRecord(s, id, &dek, time.Now())
	ts := Tombstone(s, id)
	tb := readyTable(t, k, rec, ts)
	if err := tb.Apply(rec.Key, rec.Value); err == nil {
		t.Fatal("a value after a tombstone was accepted silently")
	}
	env := Seal(nil, id, &dek, []byte("x"))
	if _, _, err := tb.Open(nil, env); !errors.Is(err, ErrShredded) {
		t.Fatalf("a resurrected key opens: %v", err)
	}
	res := tb.Resurrected()
	if len(res) != 1 || !bytes.Equal(res[0].Key, ts.Key) || res[0].Value != nil {
		t.Fatalf("Resurrected = %+v, want the tombstone of %s", res, ts.Key)
	}
	if err := tb.Apply(ts.Key, nil); err != nil {
		t.Fatal(err)
	}
	if len(tb.Resurrected()) != 0 || tb.Stats().Resurrected != 0 {
		t.Fatal("the new tombstone did not settle the resurrection")
	}
}

func TestWrappedKeyIsBoundToItsRecordKey(t *testing.T) {
	k := mustKeyring(t, "k1", testKEK("k1", 1))
	id, dek := NewKeyID(), NewDEK()
	rec := k.WrapRecord(Subject{"acme", UserID, "victim"}, id, &dek, time.Now())
	moved := RecordKey(Subject{"acme", UserID, "attacker"}, id)
	tb := NewTable(k)
	if err := tb.Apply(moved, rec.Value); err == nil {
		t.Fatal("a wrapped key moved to another subject unwrapped")
	}
	if _, _, err := readyTable(t, k).Open(nil, Seal(nil, id, &dek, []byte("x"))); err == nil {
		t.Fatal("opened")
	}
}

func TestRecordKeyRoundTrip(t *testing.T) {
	for _, s := range []Subject{{"acme", UserID, "u-42"}, {"acme", AnonymousID, "a/b/c"}, {"w_1", Unattributed, "2026-01-02"}} {
		id := NewKeyID()
		got, gotID, err := ParseRecordKey(RecordKey(s, id))
		if err != nil || got != s || gotID != id {
			t.Fatalf("ParseRecordKey(RecordKey(%v)) = %v, %v, %v", s, got, gotID, err)
		}
	}
	id := NewKeyID().String()
	for _, bad := range []string{"", "acme", "acme/USER_ID", "acme/USER_ID/" + id, "acme/USER_ID/" + id + "/",
		"acme/NOPE/" + id + "/u", "/USER_ID/" + id + "/u", "acme/USER_ID/zz" + id[2:] + "/u", "acme/USER_ID/" + id[:31] + "/u"} {
		if _, _, err := ParseRecordKey([]byte(bad)); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseRecordKey(%q) = %v, want ErrBadKey", bad, err)
		}
	}
}

func TestNewKeyringRefusals(t *testing.T) {
	good := testKEK("k1", 1)
	for _, c := range []struct {
		name    string
		current string
		keks    []KEK
	}{
		{"none", "k1", nil},
		{"duplicate", "k1", []KEK{good, good}},
		{"bad id", "a b", []KEK{{ID: "a b", Secret: good.Secret}}},
		{"short secret", "k1", []KEK{{ID: "k1", Secret: good.Secret[:16]}}},
		{"unknown current", "k2", []KEK{good}},
	} {
		if _, err := NewKeyring(c.current, c.keks...); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
