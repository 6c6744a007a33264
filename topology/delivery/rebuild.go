package delivery

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/dedup"
	"github.com/sluicehq/sluice/topology/topics"
)

// scanIdle is how long a rebuild scan waits for more records before it
// takes what it read as the end.
const scanIdle = 2 * time.Second

// assigned loads each newly owned partition's committed offset and commit
// metadata, and rebuilds its set of settled messageIds before any of its
// records is delivered (the callback gates polling).
func (e *Engine) assigned(ctx context.Context, cl *kgo.Client, assigned map[string][]int32) {
	ns := assigned[e.topic]
	if len(ns) == 0 {
		return
	}
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, e.cfg.Group)
	if err != nil {
		e.log.Warn("cannot read committed offsets; the dedup window starts empty", "error", err)
	}
	for _, n := range ns {
		p := &partition{set: dedup.New(e.cfg.DedupWindow), committed: -1, cut: noCut}
		if o, ok := offs.Lookup(e.topic, n); ok && o.Err == nil && o.At >= 0 {
			m, _ := parseMeta(o.Metadata)
			p.committed, p.cut, p.settledAt = o.At, m.cut, m.at
		}
		if err := e.rebuild(ctx, n, p); err != nil {
			e.log.Warn("dedup rebuild incomplete: a copy of an event delivered before it may be delivered again",
				"partition", n, "error", err)
		}
		e.owned.add(n, p)
	}
}

// revoked forgets partitions no longer owned.
func (e *Engine) revoked(_ context.Context, _ *kgo.Client, revoked map[string][]int32) {
	e.owned.remove(revoked[e.topic])
}

// rebuild replays the headers of the partition's settled records of the
// last window (record time, up to the last settled record) into its Set,
// leaving out those the dead-letter topic says this destination
// dead-lettered. Values are not read, so no key is needed.
func (e *Engine) rebuild(ctx context.Context, n int32, p *partition) error {
	if p.committed <= 0 {
		return nil
	}
	at := p.settledAt
	if at.IsZero() {
		at = time.Now() // a commit without sluice's metadata
	}
	from := at.Add(-e.cfg.DedupWindow).UnixMilli()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(e.cfg.Seeds...), kgo.FetchIsolationLevel(kgo.ReadCommitted())}, e.cfg.ClientOpts...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	dead := map[int64]bool{}
	starts, err1 := adm.ListOffsetsAfterMilli(ctx, from, e.dlqTopic)
	ends, err2 := adm.ListEndOffsets(ctx, e.dlqTopic)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	err = scan(ctx, cl, e.dlqTopic, starts, ends, func(r *kgo.Record) {
		if d, _ := topics.HeaderValue(r.Headers, topics.HeaderDestination); string(d) != e.cfg.Destination {
			return
		}
		o, _ := topics.HeaderValue(r.Headers, topics.HeaderOrigin)
		if part, off, ok := topics.ParseOrigin(o); ok && part == n {
			dead[off] = true
		}
	})
	if err != nil {
		return err
	}

	starts, err = adm.ListOffsetsAfterMilli(ctx, from, e.topic)
	if err != nil {
		return err
	}
	upTo := kadm.ListedOffsets{e.topic: {n: {Topic: e.topic, Partition: n, Offset: p.committed}}}
	return scan(ctx, cl, e.topic, starts, upTo, func(r *kgo.Record) {
		if h, ok := topics.MessageHashOf(r.Headers); ok && r.Partition == n && !dead[r.Offset] {
			p.set.Check(e.owned.key(h), r.Timestamp)
		}
	})
}

// scan calls fn for the records of topic from starts up to (not including)
// ends, partitions without an end left out. It returns when every
// partition reached its end, or no record came for scanIdle (transaction
// markers can end a range without a record at its last offset).
func scan(ctx context.Context, cl *kgo.Client, topic string, starts, ends kadm.ListedOffsets, fn func(*kgo.Record)) error {
	from := map[int32]kgo.Offset{}
	todo := map[int32]int64{}
	ends.Each(func(end kadm.ListedOffset) {
		if end.Topic != topic || end.Err != nil {
			return
		}
		start, ok := starts.Lookup(topic, end.Partition)
		if !ok || start.Err != nil || start.Offset < 0 || start.Offset >= end.Offset {
			return
		}
		from[end.Partition] = kgo.NewOffset().At(start.Offset)
		todo[end.Partition] = end.Offset
	})
	if len(todo) == 0 {
		return nil
	}
	cl.AddConsumePartitions(map[string]map[int32]kgo.Offset{topic: from})
	defer cl.RemoveConsumePartitions(map[string][]int32{topic: keys(todo)})
	for len(todo) > 0 {
		pctx, cancel := context.WithTimeout(ctx, scanIdle)
		fs := cl.PollFetches(pctx)
		idle := pctx.Err() != nil
		cancel()
		if err := ctx.Err(); err != nil {
			return err
		}
		got := false
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := todo[r.Partition]
			if !ok || r.Topic != topic {
				return
			}
			got = true
			if r.Offset < end {
				fn(r)
			}
			if r.Offset >= end-1 {
				delete(todo, r.Partition)
			}
		})
		if !got && idle {
			return nil // nothing readable is left before the ends
		}
	}
	return nil
}

func keys(m map[int32]int64) []int32 {
	out := make([]int32, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// followLag refreshes the lag gauge every LagInterval until ctx ends: the
// last stable offset minus the committed offset, summed over the owned
// partitions. It runs apart from delivery, so it moves during an outage.
func (e *Engine) followLag(ctx context.Context, cl *kgo.Client) {
	adm := kadm.NewClient(cl)
	t := time.NewTicker(e.cfg.LagInterval)
	defer t.Stop()
	for {
		if ends, err := adm.ListCommittedOffsets(ctx, e.topic); err == nil {
			m := map[int32]int64{}
			ends.Each(func(o kadm.ListedOffset) {
				if o.Err == nil {
					m[o.Partition] = o.Offset
				}
			})
			e.metrics.lag.Set(float64(e.owned.lag(m)))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
