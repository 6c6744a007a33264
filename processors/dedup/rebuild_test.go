package dedup

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

type record struct {
	messageID string
	at        time.Time
}

// TestRebuildByReplay checks the recommended recovery: a Set rebuilt by
// replaying the partition from (time of the last committed record − window)
// answers every later record exactly as the Set that was lost would have.
func TestRebuildByReplay(t *testing.T) {
	window := 10 * time.Minute
	rng := rand.New(rand.NewPCG(5, 6))
	var log []record
	now := t0
	for i := 0; i < 20000; i++ {
		now = now.Add(time.Duration(rng.IntN(200)) * time.Millisecond)
		id := fmt.Sprint("m", i)
		if i > 0 && rng.IntN(5) == 0 {
			id = fmt.Sprint("m", rng.IntN(i)) // a retry, recent or old
		}
		log = append(log, record{id, now})
	}
	live := New(window)
	answers := make([]bool, len(log))
	for i, r := range log {
		answers[i] = live.Check(live.Key("acme", r.messageID), r.at)
	}
	for _, committed := range []int{1, 500, 7777, 15000} {
		rebuilt := New(window)
		from := log[committed-1].at.Add(-window)
		start := 0
		for start < committed && log[start].at.Before(from) {
			start++
		}
		for _, r := range log[start:committed] {
			rebuilt.Check(rebuilt.Key("acme", r.messageID), r.at)
		}
		for i := committed; i < len(log); i++ {
			r := log[i]
			if got := rebuilt.Check(rebuilt.Key("acme", r.messageID), r.at); got != answers[i] {
				t.Fatalf("rebuilt at %d: record %d (%s) duplicate=%v, lost Set said %v", committed, i, r.messageID, got, answers[i])
			}
		}
	}
}
