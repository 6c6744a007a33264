package bench

import (
	"bytes"
	"strings"
	"testing"
)

// TestIngestSmall runs the whole benchmark on a few events: every request
// must be answered 200 and the result must add up (no speed is asserted).
func TestIngestSmall(t *testing.T) {
	var out bytes.Buffer
	res, err := Ingest(t.Context(), IngestConfig{Events: 2050, Clients: 3, BatchSize: 100, Out: &out})
	if err != nil {
		t.Fatalf("Ingest: %v\n%s", err, out.String())
	}
	if res.Events != 2050 || res.Requests != 21 || res.Clients != 3 || res.BatchSize != 100 {
		t.Errorf("result %+v", res)
	}
	if res.EventsPerSec <= 0 || res.BaselineEventsPerSec <= 0 || res.Ratio <= 0 || res.P99Ms < res.P50Ms || res.BodyBytes <= 0 {
		t.Errorf("result does not add up: %+v", res)
	}
	for _, want := range []string{"http:", "baseline:", "ratio:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
