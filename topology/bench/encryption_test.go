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
	// Sealed values are compressed first: a sealed record on the broker is
	// smaller than the event in clear (before 2026-12 it was 48 bytes larger).
	evs := routerEvents(3000)
	clear := 0
	for i := range evs {
		clear += len(evs[i].AppendRaw(nil))
	}
	perEvent := float64(clear) / float64(len(evs))
	if rt.EncryptedRawBytesPerRecord <= 0 || rt.EncryptedRawBytesPerRecord >= perEvent ||
		rt.EncryptedDestBytesPerRecord <= 0 || rt.EncryptedDestBytesPerRecord >= perEvent {
		t.Errorf("sealed records take %.0f bytes on events.raw and %.0f on dest.*, the events %.0f in clear",
			rt.EncryptedRawBytesPerRecord, rt.EncryptedDestBytesPerRecord, perEvent)
	}
	if in.EncryptedRawBytesPerRecord <= 0 || in.RawBytesPerRecord <= 0 {
		t.Errorf("ingest bytes per record: %.0f sealed, %.0f in clear", in.EncryptedRawBytesPerRecord, in.RawBytesPerRecord)
	}
}
