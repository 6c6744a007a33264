package suppress

import (
	"runtime"
	"testing"
)

// TestHeapPerSubject guards the pointer-free layout: a million suppressed
// subjects must stay under 30 bytes of heap each (13-byte slots, at most 3/4
// full, rounded up to powers of two). BenchmarkLoad10M reports the 10M figure.
func TestHeapPerSubject(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a million subjects")
	}
	const n = 1_000_000
	before := heapInUse()
	tab := NewTable(NewHasher())
	load(tab, n)
	perSubject := float64(heapInUse()-before) / n
	runtime.KeepAlive(tab)
	if perSubject > 30 {
		t.Fatalf("%.1f heap bytes per subject, want at most 30", perSubject)
	}
	t.Logf("%.1f heap bytes per subject", perSubject)
}
