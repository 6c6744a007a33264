package dedup

import (
	"errors"
	"testing"
	"time"
)

func TestSnapshotRoundTrip(t *testing.T) {
	s := New(time.Hour)
	for i := 0; i < 5000; i++ {
		s.Check(s.Key("acme", string(rune('a'+i%26))+string(rune(i))), t0.Add(time.Duration(i)*time.Second))
	}
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := New(time.Minute)
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if r.Len() != s.Len() || r.Window() != s.Window() || !r.Watermark().Equal(s.Watermark()) {
		t.Fatalf("restored Len %d window %v watermark %v; want %d %v %v", r.Len(), r.Window(), r.Watermark(), s.Len(), s.Window(), s.Watermark())
	}
	if r.Key("acme", "x") != s.Key("acme", "x") {
		t.Fatal("restored Set hashes differently")
	}
	at := t0.Add(5000 * time.Second)
	for i := 0; i < 5000; i++ {
		k := s.Key("acme", string(rune('a'+i%26))+string(rune(i)))
		if r.Seen(k, at) != s.Seen(k, at) {
			t.Fatalf("entry %d answers differently after restore", i)
		}
	}
}

func TestSnapshotRejects(t *testing.T) {
	s := New(time.Hour)
	s.Check(42, t0)
	s.Check(43, t0)
	good, _ := s.MarshalBinary()
	repeated := append([]byte(nil), good...)
	copy(repeated[headerLen+entryLen:], repeated[headerLen:headerLen+entryLen])
	zeroWindow := append([]byte(nil), good...)
	copy(zeroWindow[4:8], []byte{0, 0, 0, 0})
	cases := map[string][]byte{
		"empty":        nil,
		"bad magic":    append([]byte("XXXX"), good[4:]...),
		"truncated":    good[:len(good)-1],
		"extra byte":   append(append([]byte(nil), good...), 0),
		"repeated key": repeated,
		"zero window":  zeroWindow,
	}
	for name, b := range cases {
		r := New(time.Minute)
		r.Check(1, t0)
		if err := r.UnmarshalBinary(b); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: err = %v, want ErrSnapshot", name, err)
		}
		if r.Len() != 1 || r.Window() != time.Minute {
			t.Errorf("%s: Set changed by a failed restore", name)
		}
	}
}

func FuzzUnmarshalBinary(f *testing.F) {
	s := New(time.Hour)
	s.Check(42, t0)
	good, _ := s.MarshalBinary()
	f.Add(good)
	f.Add([]byte("SLD1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := New(time.Hour)
		if err := r.UnmarshalBinary(b); err != nil {
			return
		}
		again, _ := r.MarshalBinary()
		if len(again) != len(b) {
			t.Fatalf("re-encoded %d bytes from %d", len(again), len(b))
		}
	})
}
