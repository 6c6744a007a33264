package router

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/dedup"
	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
)

// partitionState is what the router keeps per owned events.raw partition:
// the dedup set, rebuilt on assignment by replaying the last window of the
// partition (processors/dedup explains why a replay answers exactly as the
// lost set would). Only the partition's worker touches it during a batch.
type partitionState struct {
	set       *dedup.Set
	rebuilt   bool
	pending   map[uint64]time.Time // accepted in the open transaction
	pendOrder []uint64
}

// seen reports whether messageID is a duplicate, counting both committed
// history and the open transaction, and records it as pending otherwise.
func (ps *partitionState) seen(workspace, messageID string, at time.Time) bool {
	k := ps.set.Key(workspace, messageID)
	if _, ok := ps.pending[k]; ok {
		return true
	}
	if ps.set.Seen(k, at) {
		// Keep the window running from the latest sighting, as Check does.
		ps.set.Add(k, at)
		return true
	}
	ps.pending[k] = at
	ps.pendOrder = append(ps.pendOrder, k)
	return false
}

// commit makes the open transaction's messageIds part of history.
func (ps *partitionState) commit() {
	for _, k := range ps.pendOrder {
		ps.set.Add(k, ps.pending[k])
	}
	ps.abort()
}

// abort forgets the open transaction's messageIds: they will be seen again.
func (ps *partitionState) abort() {
	clear(ps.pending)
	ps.pendOrder = ps.pendOrder[:0]
}

// partitions tracks the states of the partitions this member owns.
type partitions struct {
	window time.Duration
	mu     sync.Mutex
	owned  map[int32]*partitionState
}

func newPartitions(window time.Duration) *partitions {
	return &partitions{window: window, owned: map[int32]*partitionState{}}
}

// assign starts fresh, not yet rebuilt states for newly owned partitions.
func (p *partitions) assign(ps []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range ps {
		p.owned[n] = &partitionState{set: dedup.New(p.window), pending: map[uint64]time.Time{}}
	}
}

// revoke drops the states of partitions no longer owned.
func (p *partitions) revoke(ps []int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range ps {
		delete(p.owned, n)
	}
}

// get returns a partition's state, creating one if the assignment callback
// has not run yet (records can only arrive for owned partitions).
func (p *partitions) get(n int32) *partitionState {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := p.owned[n]
	if ps == nil {
		ps = &partitionState{set: dedup.New(p.window), pending: map[uint64]time.Time{}}
		p.owned[n] = ps
	}
	return ps
}

// rebuild replays the partition's records from one window before upTo's
// record time up to (not including) offset upTo into the dedup set. keys
// opens sealed values (nil: plaintext); a value it cannot open is skipped,
// as routing drops it.
func rebuild(ctx context.Context, seeds []string, opts []kgo.Opt, topic string, partition int32, upTo int64, window time.Duration, keys *shred.Table, ps *partitionState) error {
	ps.rebuilt = true
	if upTo <= 0 {
		return nil
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, opts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	// Start one window before now: records older than that cannot make a
	// later record a duplicate.
	starts, err := adm.ListOffsetsAfterMilli(ctx, time.Now().Add(-window).UnixMilli(), topic)
	if err != nil {
		return fmt.Errorf("dedup rebuild: %w", err)
	}
	start := int64(0)
	if o, ok := starts.Lookup(topic, partition); ok && o.Err == nil {
		start = o.Offset
	}
	if start >= upTo {
		return nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(start)}})
	var ev schemas.Event
	var buf []byte
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		done := false
		fs.EachRecord(func(r *kgo.Record) {
			if done || r.Offset >= upTo {
				done = true
				return
			}
			plain := r.Value
			if keys != nil {
				var err error
				if buf, _, err = keys.Open(buf[:0], r.Value); err != nil {
					plain = nil
				} else {
					plain = buf
				}
			}
			if plain != nil && schemas.DecodeRaw(plain, &ev) == nil {
				ps.set.Check(ps.set.Key(ev.Workspace, ev.MessageID), ev.ReceivedAt)
			}
			if r.Offset == upTo-1 {
				done = true
			}
		})
		if done {
			return nil
		}
	}
}
