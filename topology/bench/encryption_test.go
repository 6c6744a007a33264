package bench

import (
	"bytes"
	"strings"
	"testing"
)

// With Encryption both benchmarks also run sealed and report the ratio (no
// speed is asserted): every sealed request is answered 200 and the sealed
// router commits every event.
func TestBenchmarksWithEncryption(t *testing.T) {
	var out bytes.Buffer
	in, err := Ingest(t.Context(), IngestConfig{Events: 1050, Clients: 2, BatchSize: 50, Encryption: true, Out: &out})
	if err != nil {
		t.Fatalf("Ingest: %v\n%s", err, out.String())
	}
	if in.EncryptedEventsPerSec <= 0 || in.EncryptionRatio <= 0 || !strings.Contains(out.String(), "sealed:") {
		t.Errorf("ingest result %+v\n%s", in, out.String())
	}
	out.Reset()
	rt, err := Router(t.Context(), RouterConfig{Events: 3000, Partitions: 2, Encryption: true, Out: &out})
	if err != nil {
		t.Fatalf("Router: %v\n%s", err, out.String())
	}
	if rt.EncryptedEventsPerSec <= 0 || rt.EncryptionRatio <= 0 || !strings.Contains(out.String(), "sealed:") {
		t.Errorf("router result %+v\n%s", rt, out.String())
	}
}
