package shred

import (
	"bytes"
	"crypto/rand"
	"testing"
	"time"
)

// value is an events.raw value of typical size (about 600 bytes).
var value = bytes.Repeat([]byte(`{"type":"track","k":"v"},`), 24)

func benchTable(b *testing.B, keys int) (*Table, []KeyID) {
	k, _ := NewKeyring("k1", testKEK("k1", 1))
	tb := NewTable(k)
	ids := make([]KeyID, keys)
	for i := range ids {
		ids[i] = NewKeyID()
		dek := NewDEK()
		r := k.WrapRecord(Subject{"acme", UserID, string(rune('a' + i%26))}, ids[i], &dek, time.Now())
		_ = tb.Apply(r.Key, r.Value)
	}
	tb.MarkCaughtUp()
	return tb, ids
}

// BenchmarkOpenSeal opens a value and seals it again (the router's work per
// event), over few keys (cached ciphers) and many (mostly built per call).
func BenchmarkOpenSeal(b *testing.B) {
	for _, n := range []int{100, 20_000} {
		b.Run(map[int]string{100: "100keys", 20_000: "20000keys"}[n], func(b *testing.B) {
			tb, ids := benchTable(b, n)
			envs := make([][]byte, len(ids))
			for i, id := range ids {
				envs[i], _ = tb.Seal(nil, id, value)
			}
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			var buf, out []byte
			for i := 0; b.Loop(); i++ {
				var err error
				var id KeyID
				buf, id, err = tb.Open(buf[:0], envs[i%len(envs)])
				if err != nil {
					b.Fatal(err)
				}
				if out, err = tb.Seal(out[:0], id, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNewAEAD(b *testing.B) {
	dek := NewDEK()
	for b.Loop() {
		_, _ = newAEAD(dek[:])
	}
}

func BenchmarkNonce(b *testing.B) {
	var n [12]byte
	for b.Loop() {
		_, _ = rand.Read(n[:])
	}
}
