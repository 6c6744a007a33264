package shred

import (
	"bytes"
	"testing"
	"time"
)

// FuzzOpen feeds arbitrary record values (outside input: anyone who can
// write a topic) to the envelope decoder: it never panics, and nothing opens
// but a genuine envelope of the seeded value (forging one means forging GCM).
func FuzzOpen(f *testing.F) {
	k, _ := NewKeyring("k1", testKEK("k1", 1))
	s, id, dek := Subject{"acme", UserID, "u1"}, KeyID{1, 2, 3}, DEK{4, 5, 6}
	rec := k.WrapRecord(s, id, &dek, time.Unix(0, 0))
	tb := NewTable(k)
	if err := tb.Apply(rec.Key, rec.Value); err != nil {
		f.Fatal(err)
	}
	tb.MarkCaughtUp()
	good := Seal(nil, id, &dek, []byte(`{"type":"track"}`))
	f.Add(good)
	f.Add([]byte(`{"type":"track"}`))
	f.Add([]byte{0x00, 'S', 'H', 0x01})
	f.Add(sealV1(id, &dek, []byte(`{"type":"track"}`)))
	f.Add(append([]byte{0x00, 'S', 'H', 0x01}, good[4:]...))
	f.Add(append([]byte{0x00, 'S', 'H', 0x03}, good[4:]...))
	f.Fuzz(func(t *testing.T, v []byte) {
		out, gotID, err := tb.Open(nil, v)
		if err != nil {
			return
		}
		if gotID != id || string(out) != `{"type":"track"}` {
			t.Fatalf("%x opened as %q", v, out)
		}
	})
}

// FuzzPayload feeds arbitrary envelope payloads (what a key holder could
// seal) to the decompressor: it never panics, never returns more than
// maxInflated bytes, and what it decodes seals and opens to the same bytes.
func FuzzPayload(f *testing.F) {
	for _, v := range segmentEvents {
		f.Add(appendPayload(nil, v))
	}
	f.Add([]byte{codecStored, 'x'})
	f.Add([]byte{codecS2SegmentV1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{9})
	f.Fuzz(func(t *testing.T, p []byte) {
		out, err := appendValue(nil, p)
		if err != nil {
			return
		}
		if len(out) > maxInflated {
			t.Fatalf("%d bytes out of a %d-byte payload", len(out), len(p))
		}
		if again, err := appendValue(nil, appendPayload(nil, out)); err != nil || !bytes.Equal(again, out) {
			t.Fatalf("%q does not round-trip: %q, %v", out, again, err)
		}
	})
}

// FuzzSealOpen: every value seals and opens to itself, compressed or not.
func FuzzSealOpen(f *testing.F) {
	for _, v := range segmentEvents {
		f.Add(v)
	}
	f.Add([]byte{})
	id, dek := KeyID{1}, DEK{2}
	f.Fuzz(func(t *testing.T, v []byte) {
		env := Seal(nil, id, &dek, v)
		if len(env) > len(v)+Overhead {
			t.Fatalf("%d bytes sealed into %d", len(v), len(env))
		}
		out, err := Open(nil, &dek, env)
		if err != nil || !bytes.Equal(out, v) {
			t.Fatalf("Open = %q, %v; want %q", out, err, v)
		}
	})
}

// FuzzParseRecordKey: keys-topic keys are outside input too.
func FuzzParseRecordKey(f *testing.F) {
	f.Add(RecordKey(Subject{"acme", UserID, "u/1"}, KeyID{1}))
	f.Add([]byte("acme/USER_ID/u1"))
	f.Fuzz(func(t *testing.T, key []byte) {
		s, id, err := ParseRecordKey(key)
		if err != nil {
			return
		}
		if again := RecordKey(s, id); !bytes.Equal(again, key) {
			t.Fatalf("%q parsed to %v %v, which is %q", key, s, id, again)
		}
	})
}

// FuzzApply: keys-topic values are outside input: Apply never panics and
// never makes a key live that does not unwrap.
func FuzzApply(f *testing.F) {
	k, _ := NewKeyring("k1", testKEK("k1", 1))
	rec := k.WrapRecord(Subject{"acme", UserID, "u1"}, KeyID{1}, &DEK{2}, time.Unix(0, 0))
	f.Add(rec.Key, rec.Value)
	f.Add(rec.Key, []byte(`{"kek":"k1","dek":"AAAA"}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		tb := NewTable(k)
		if err := tb.Apply(key, value); err != nil {
			if tb.Stats().Live != 0 {
				t.Fatal("a failed Apply left a live key")
			}
		}
	})
}
