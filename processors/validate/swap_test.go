package validate

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestSwapWithoutRestart: a running validator, judging events on several
// goroutines, changes its verdict as soon as a new plan version is put.
func TestSwapWithoutRestart(t *testing.T) {
	v := newValidator(t, fieldPlan(t, `"int"`, "typeViolations: block"))
	in := track("t", "E", `{"v":"forty-two"}`)

	var r Result
	if err := v.Validate(in, &r); err != nil || r.Outcome != Blocked {
		t.Fatalf("before: %v %v", r.Outcome, err)
	}

	var passed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r Result
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := v.Validate(in, &r); err != nil {
					t.Error(err)
					return
				}
				if r.Outcome == Pass {
					passed.Add(1)
				}
			}
		}()
	}
	time.Sleep(10 * time.Millisecond)
	if passed.Load() != 0 {
		t.Fatal("passed before the new version")
	}
	if err := v.Put(fieldPlan(t, `"string"`, "typeViolations: block"), 2); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for passed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if passed.Load() == 0 {
		t.Fatal("the new version never took effect")
	}
	if err := v.Validate(in, &r); err != nil || r.Outcome != Pass || r.PlanVersion != 2 {
		t.Fatalf("after: %v v%d %v", r.Outcome, r.PlanVersion, err)
	}

	v.Remove("t")
	if err := v.Validate(in, &r); err != nil || r.Outcome != Blocked || r.Violations[0].Kind != UnknownPlan {
		t.Fatalf("after remove: %v %s", r.Outcome, kinds(r.Violations))
	}
}
