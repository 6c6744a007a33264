package validate

import (
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
)

// TestBackwardCompatibleMeansOldEventsPass ties the plan's compatibility
// verdict to this stage: events valid under the previous schema still pass
// a BACKWARD-compatible successor, and fail one the verdict refuses.
func TestBackwardCompatibleMeansOldEventsPass(t *testing.T) {
	old, err := plan.CheckDir("../../schemas/plan/testdata/diff/widen/old")
	if err != nil {
		t.Fatal(err)
	}
	next, err := plan.CheckDir("../../schemas/plan/testdata/diff/widen/new")
	if err != nil {
		t.Fatal(err)
	}
	if v := plan.CheckCompatibility(old, next, plan.Backward); !v.Compatible {
		t.Fatalf("fixture should be BACKWARD compatible: %s", v.Text())
	}
	events := []string{
		`{"song_id":"s1","seconds":212,"source":"radio","played_at":1714564800123,"tags":{}}`,
		`{"song_id":"s2","seconds":-2147483648,"source":"library","played_at":-1,"tags":{"mood":"calm","genre":"jazz"}}`,
	}
	vOld, vNew := newValidator(t, old), New()
	if err := vNew.Put(next, 2); err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		for name, v := range map[string]*Validator{"previous": vOld, "new": vNew} {
			var r Result
			if err := v.Validate(track("app", "Song Played", e), &r); err != nil || len(r.Violations) > 0 {
				t.Fatalf("%s schema refuses %s: %v %s", name, e, err, kinds(r.Violations))
			}
		}
	}
	// FORWARD is refused for seconds (int ← long): a long-only value shows why.
	if v := plan.CheckCompatibility(old, next, plan.Forward); v.Compatible {
		t.Fatal("fixture should not be FORWARD compatible")
	}
	var r Result
	newOnly := `{"song_id":"s3","seconds":4294967296,"source":"search","played_at":"2024-05-01T12:00:00Z","tags":{"x":null}}`
	if err := vOld.Validate(track("app", "Song Played", newOnly), &r); err != nil || len(r.Violations) != 4 {
		t.Fatalf("the previous schema should refuse seconds, source, played_at and tags.x: %s", kinds(r.Violations))
	}
}
