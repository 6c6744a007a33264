package suppress

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrentApplyAndDecide has writers suppress and unsuppress a churning
// set of subjects (growing and cleaning shards as they go) while readers keep
// asking about subjects whose answer never changes: a stable suppressed set,
// anonymousIds linked to it, and subjects never suppressed. Run with -race.
func TestConcurrentApplyAndDecide(t *testing.T) {
	st, tab, ids := newTestStage(t)
	const stable, churn = 1000, 8000
	for i := 0; i < stable; i++ {
		tab.Apply(mustKey(t, "acme", UserID, fmt.Sprint("stable-", i)), []byte{'1'})
		k, _ := LinkKey("acme", fmt.Sprint("stable-anon-", i))
		ids.Apply(k, linkValue(t, fmt.Sprint("stable-", i)))
	}
	tab.MarkCaughtUp()
	ids.MarkCaughtUp()

	var stop atomic.Bool
	var writers, readers sync.WaitGroup
	rounds := 6
	if testing.Short() {
		rounds = 2
	}
	for w := 0; w < 2; w++ {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for r := 0; r < rounds; r++ {
				for i := w; i < churn; i += 2 {
					k := mustKey(t, "acme", UserID, fmt.Sprint("churn-", i))
					var v []byte
					if r%2 == 0 {
						v = []byte{'1'}
					}
					tab.Apply(k, v)
					lk, _ := LinkKey("acme", fmt.Sprint("churn-anon-", i))
					ids.Apply(lk, linkValue(t, fmt.Sprint("churn-", i)))
				}
			}
		}()
	}
	var failures atomic.Int64
	for r := 0; r < 4; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for n := 0; !stop.Load(); n++ {
				i := n % stable
				if ok, why := st.Decide("acme", fmt.Sprint("stable-", i), ""); !ok || why != ReasonUserID {
					failures.Add(1)
				}
				if ok, why := st.Decide("acme", "", fmt.Sprint("stable-anon-", i)); !ok || why != ReasonLinkedUserID {
					failures.Add(1)
				}
				if ok, _ := st.Decide("acme", fmt.Sprint("never-", i), fmt.Sprint("never-anon-", i)); ok {
					failures.Add(1)
				}
				st.Decide("acme", "", fmt.Sprint("churn-anon-", n%churn)) // either answer is right
			}
		}()
	}
	writers.Wait()
	stop.Store(true)
	readers.Wait()
	if n := failures.Load(); n > 0 {
		t.Fatalf("%d wrong answers for subjects whose state never changed", n)
	}
	// Even rounds suppress, odd rounds unsuppress; rounds is even so the
	// churn set ends unsuppressed.
	if tab.Len() != stable {
		t.Fatalf("Len = %d, want %d", tab.Len(), stable)
	}
}
