package dedup

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkCheck is the per-event cost in steady state: a 24 h window at
// about 116 events/s (10 million live keys per partition), one in ten a
// repeat, automatic expiry included. The first 10 million events only fill
// the window and are not timed.
func BenchmarkCheck(b *testing.B) {
	const live = 10_000_000
	s := New(24 * time.Hour)
	step := 24 * time.Hour / live
	at := t0
	next := uint64(1)
	for ; next <= live; next++ {
		at = at.Add(step)
		s.Check(next*0x9E3779B97F4A7C15, at)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap := float64(ms.HeapAlloc) / float64(s.Len())
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at = at.Add(step)
		k := next
		if i%10 == 0 {
			k = next - uint64(i%1000) - 1
		} else {
			next++
		}
		s.Check(k*0x9E3779B97F4A7C15, at)
	}
	b.ReportMetric(heap, "heap-B/key")
}

func BenchmarkKey(b *testing.B) {
	s := New(time.Hour)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "0b4c6c5e-4f3a-4d2b-9a55-" + strconv.FormatInt(int64(100000000000+i), 10)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Key("acme", ids[i%len(ids)])
	}
}

func BenchmarkMarshalBinary(b *testing.B) {
	s := New(time.Hour)
	for i := uint64(1); i <= 1_000_000; i++ {
		s.Check(i*0x9E3779B97F4A7C15, t0)
	}
	b.ReportAllocs()
	for b.Loop() {
		s.MarshalBinary()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/entry")
}

func BenchmarkUnmarshalBinary(b *testing.B) {
	s := New(time.Hour)
	for i := uint64(1); i <= 1_000_000; i++ {
		s.Check(i*0x9E3779B97F4A7C15, t0)
	}
	snap, _ := s.MarshalBinary()
	r := New(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if err := r.UnmarshalBinary(snap); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ns/entry")
}
