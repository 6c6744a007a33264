package suppress

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// uuidKey writes a suppressions key for subject n, with a 36-character
// UUID-shaped id (the common shape of real userIds), into buf.
func uuidKey(buf []byte, ws string, typ SubjectType, n uint64) []byte {
	buf = append(buf[:0], ws...)
	buf = append(buf, '/')
	buf = append(buf, typ...)
	buf = append(buf, '/')
	return appendUUID(buf, n)
}

func appendUUID(buf []byte, n uint64) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, "00000000-0000-4000-8000-"...)
	for shift := 44; shift >= 0; shift -= 4 {
		buf = append(buf, hex[(n>>uint(shift))&0xf])
	}
	return buf
}

func uuid(n uint64) string { return string(appendUUID(nil, n)) }

// heapInUse returns live heap bytes after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func load(tab *Table, n int) {
	buf := make([]byte, 0, 128)
	val := []byte(`{"regulationId":"r1","subjectType":"USER_ID","subjectId":"x","at":"2026-01-02T03:04:05Z"}`)
	for i := 0; i < n; i++ {
		buf = uuidKey(buf, "acme", UserID, uint64(i))
		if err := tab.Apply(buf, val); err != nil {
			panic(err)
		}
	}
}

// BenchmarkLoad10M loads 10 million suppression records into a fresh table per
// iteration (run with -benchtime 1x) and reports the live heap it holds.
func BenchmarkLoad10M(b *testing.B) {
	const n = 10_000_000
	var heap uint64
	var took time.Duration
	for i := 0; i < b.N; i++ {
		before := heapInUse()
		start := time.Now()
		tab := NewTable(NewHasher())
		load(tab, n)
		took = time.Since(start)
		heap = heapInUse() - before
		if tab.Len() != n {
			b.Fatalf("Len = %d", tab.Len())
		}
		runtime.KeepAlive(tab)
	}
	b.ReportMetric(float64(heap)/1e6, "heap-MB")
	b.ReportMetric(float64(heap)/n, "heap-B/subject")
	b.ReportMetric(float64(took.Nanoseconds())/n, "ns/record")
	b.ReportMetric(n/took.Seconds(), "records/s")
}

// BenchmarkApply is the per-record cost of following the topic into a table
// that grows as it goes.
func BenchmarkApply(b *testing.B) {
	tab := NewTable(NewHasher())
	buf := make([]byte, 0, 128)
	val := []byte(`{"regulationId":"r1"}`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf = uuidKey(buf, "acme", UserID, uint64(i))
		tab.Apply(buf, val)
	}
}

// BenchmarkLookup10M looks subjects up in a table of 10 million: hits, misses,
// Decide with a userId and an anonymousId, and parallel readers with and
// without a writer applying suppressions and tombstones meanwhile.
func BenchmarkLookup10M(b *testing.B) {
	const n = 10_000_000
	h := NewHasher()
	tab, ids := NewTable(h), NewIdentities(h)
	load(tab, n)
	tab.MarkCaughtUp()
	ids.MarkCaughtUp()
	st, _ := NewStage(tab, ids)
	const pool = 1 << 20
	hits, misses := make([]string, pool), make([]string, pool)
	for i := range hits {
		hits[i] = uuid(uint64(i) * 152 % n)
		misses[i] = uuid(uint64(n + i))
	}
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if ok, _ := tab.Suppressed("acme", UserID, hits[i%pool]); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if ok, _ := tab.Suppressed("acme", UserID, misses[i%pool]); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("decide", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			st.Decide("acme", misses[i%pool], misses[(i+1)%pool])
		}
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(7919))
			for pb.Next() {
				tab.Suppressed("acme", UserID, misses[i%pool])
				i++
			}
		})
	})
	b.Run("parallel+writer", func(b *testing.B) {
		var stop atomic.Bool
		done := make(chan int)
		go func() {
			buf := make([]byte, 0, 128)
			w := 0
			for ; !stop.Load(); w++ {
				buf = uuidKey(buf, "acme", AnonymousID, uint64(w%100000))
				var v []byte
				if w/100000%2 == 0 {
					v = []byte{'1'}
				}
				tab.Apply(buf, v)
			}
			done <- w
		}()
		var next atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			i := int(next.Add(7919))
			for pb.Next() {
				tab.Suppressed("acme", UserID, misses[i%pool])
				i++
			}
		})
		stop.Store(true)
		b.ReportMetric(float64(<-done)/b.Elapsed().Seconds(), "writes/s")
	})
}

// BenchmarkIdentitiesApply is the per-record cost of following the
// identities topic (the JSON value is decoded).
func BenchmarkIdentitiesApply(b *testing.B) {
	m := NewIdentities(NewHasher())
	key := make([]byte, 0, 128)
	val := []byte(`{"userId":"0b4c6c5e-4f3a-4d2b-9a55-2f1e3d4c5b6a","at":"2026-01-02T03:04:05Z"}`)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key = appendUUID(append(key[:0], "acme/"...), uint64(i))
		if err := m.Apply(key, val); err != nil {
			b.Fatal(err)
		}
	}
}
