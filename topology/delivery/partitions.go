package delivery

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/dedup"
	"github.com/sluicehq/sluice/topology/topics"
)

// partition is what the engine keeps per owned partition of dest.<name>.
// Only the partition's flush goroutine touches set and cut during a flush;
// the other fields are read by the metrics, under owned.mu.
type partition struct {
	// set holds the messageIds settled on this partition within the
	// window: delivered, or dropped by the privacy re-check.
	set *dedup.Set
	// committed is the committed offset: everything below it is settled;
	// -1 when the group never committed this partition.
	committed int64
	// cut is the batch the last commit announced, from committed.
	cut cut
	// settledAt is the record time of the last settled record.
	settledAt time.Time
	// oldest is the timestamp of the oldest record held and not yet
	// settled; zero when none.
	oldest   time.Time
	retrying bool
}

// owned is the set of partitions this member owns.
type owned struct {
	window time.Duration
	seed   uint64 // mixes header hashes before they index a Set
	mu     sync.Mutex
	m      map[int32]*partition
}

func newOwned(window time.Duration) *owned {
	return &owned{window: window, seed: rand.Uint64(), m: map[int32]*partition{}}
}

// key is the Set key of a message hash. Header hashes are unseeded, so
// anyone can compute them; mixing them with a per-process seed keeps
// crafted messageIds from piling into one probe chain of the Set.
func (o *owned) key(hash uint64) uint64 {
	x := hash ^ o.seed
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb53fe1a85ec9
	return x ^ x>>33
}

func (o *owned) add(n int32, p *partition) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.m[n] = p
}

func (o *owned) remove(ns []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range ns {
		delete(o.m, n)
	}
}

// get returns a partition's state, creating an empty one for a partition
// whose assignment callback has not run (records only come for owned ones).
func (o *owned) get(n int32) *partition {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.m[n]
	if p == nil {
		p = &partition{set: dedup.New(o.window), committed: -1, cut: noCut}
		o.m[n] = p
	}
	return p
}

// held notes a polled record: the oldest held record's time.
func (o *owned) held(r *kgo.Record) {
	p := o.get(r.Partition)
	o.mu.Lock()
	defer o.mu.Unlock()
	if p.oldest.IsZero() {
		p.oldest = r.Timestamp
	}
}

// settled notes that a partition's records before next are settled; next
// is the record after them (nil when none is held).
func (o *owned) settled(p *partition, next *kgo.Record) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p.oldest = time.Time{}
	if next != nil {
		p.oldest = next.Timestamp
	}
	p.retrying = false
}

func (o *owned) setRetrying(p *partition, on bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p.retrying = on
}

func (o *owned) setCommitted(p *partition, offset int64, m commitMeta) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p.committed, p.cut, p.settledAt = offset, m.cut, m.at
}

// cutsPending reports whether held starts a partition's committed cut but
// does not reach its end yet.
func (o *owned) cutsPending(held []*kgo.Record) bool {
	first, last := map[int32]int64{}, map[int32]int64{}
	for _, r := range held {
		if _, ok := first[r.Partition]; !ok {
			first[r.Partition] = r.Offset
		}
		last[r.Partition] = r.Offset
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for n, f := range first {
		if p := o.m[n]; p != nil && p.cut.applies(p.committed, f) && last[n] < p.cut.last {
			return true
		}
	}
	return false
}

// stats are the gauges' values: lag is filled by followLag.
func (o *owned) stats(now time.Time) (oldestAge time.Duration, retrying int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range o.m {
		if !p.oldest.IsZero() {
			oldestAge = max(oldestAge, now.Sub(p.oldest))
		}
		if p.retrying {
			retrying++
		}
	}
	return oldestAge, retrying
}

// lag sums end − committed over the owned partitions.
func (o *owned) lag(ends map[int32]int64) int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	var lag int64
	for n, p := range o.m {
		if end, ok := ends[n]; ok {
			lag += max(0, end-max(p.committed, 0))
		}
	}
	return lag
}

// messageHash returns the record's message hash: its header, or computed
// from the decoded event for a record routed before headers existed.
func messageHash(r *kgo.Record, workspace, messageID string) uint64 {
	if h, ok := topics.MessageHashOf(r.Headers); ok {
		return h
	}
	return topics.MessageHash(workspace, messageID)
}
