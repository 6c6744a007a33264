package regulator

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// The purge: what the regulator records after a regulation's end.
//
// FINISHED means no query returns a row of the subjects, whatever its
// settings: the warehouse's Delete rewrote the parts that held them. The
// bytes stay on the servers' disks in the replaced parts until ClickHouse's
// cleanup removes those, within the warehouse's purge bound; and the
// compacted topics hold the replaced values until the cleaner compacts
// them. purgeLoop follows both for the regulations this regulator owns and
// writes the times into the regulation (Regulation.Purge): PurgedAt when
// the warehouse's own view (Purger) shows no part replaced before the
// rows' deletion left on any disk; and the compaction bound from the
// tombstoned topics' configs.

// Purger is the optional ability of a Warehouse to tell when the rows it
// deleted are gone from the servers' disks (*clickhouse.Warehouse has it).
// Without it a regulation's ClickHouse purge is NOT_SUPPORTED.
type Purger interface {
	// PurgedBefore returns a time T such that no server keeps a part that
	// was replaced before T: rows deleted before T are gone from disk.
	PurgedBefore(ctx context.Context) (time.Time, error)
	// PurgeWithin is how long a replaced part may stay on disk.
	PurgeWithin() time.Duration
}

// tombstoneStep reports whether a step's records are tombstones in
// compacted topics: its receipt's offsets name the topics.
func tombstoneStep(name string) bool { return name == StepTopics || name == StepKeys }

// startPurge opens g's ClickHouse purge: its rows were verified gone from
// every part at at.
func (r *runner) startPurge(g *Regulation, at time.Time) {
	if g.Purge == nil {
		g.Purge = &Purge{}
	}
	cp := &ClickHousePurge{Status: Running, UnreachableAt: at, Detail: "waiting for ClickHouse to remove the replaced parts from disk"}
	if p, ok := r.cfg.Warehouse.(Purger); ok {
		cp.DueBy = ptr(at.Add(p.PurgeWithin()))
	} else {
		cp.Status, cp.Detail = NotSupported, "the warehouse cannot tell when replaced parts leave the disks"
	}
	g.Purge.ClickHouse = cp
}

// purgeOpen reports whether the purge loop still has something to record
// for g, an ended deleting regulation. A regulation that ended without a
// purge record while sluice has a warehouse was verified before rewrites
// existed: there is nothing true to record.
func purgeOpen(g *Regulation, warehouse bool) bool {
	if g.Purge == nil {
		return !warehouse
	}
	return g.Purge.Kafka == nil || g.Purge.ClickHouse != nil && g.Purge.ClickHouse.Status == Running
}

// purgePoll is how often purgeLoop looks again while a purge is open.
func (r *runner) purgePoll() time.Duration { return max(r.cfg.PollInterval, time.Second) }

// purgeLoop records the purges of the regulations this regulator owns until
// ctx ends.
func (r *runner) purgeLoop(ctx context.Context) {
	for ctx.Err() == nil {
		changed := r.store.changes()
		if err := r.followLinks(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("regulator: following identity links of ended regulations", "err", err)
		}
		open, err := r.purgePass(ctx)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("regulator: recording purges", "err", err)
		}
		wait := idleWait
		if open || err != nil {
			changed, wait = nil, r.purgePoll()
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// purgePass records what it can of every open purge, with one look at the
// warehouse for all of them, and reports whether any is still open.
func (r *runner) purgePass(ctx context.Context) (open bool, err error) {
	warehouse := r.cfg.Warehouse != nil
	regs := r.store.list(func(g *Regulation) bool {
		return g.Workspace == r.cfg.Workspace && g.Request.RegulationType.Deletes() &&
			(g.OverallStatus == Finished || g.OverallStatus == PartialSuccess) && purgeOpen(g, warehouse) && r.own.owns(g.ID)
	})
	if len(regs) == 0 {
		return false, nil
	}
	var horizon time.Time
	var errs []error
	if p, ok := r.cfg.Warehouse.(Purger); ok && slices.ContainsFunc(regs, waitsForClickHouse) {
		if horizon, err = p.PurgedBefore(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	for _, stored := range regs {
		g := stored.clone()
		changed := false
		if g.Purge == nil {
			g.Purge, changed = &Purge{}, true
		}
		if g.Purge.Kafka == nil {
			k, err := r.kafkaBound(ctx, g)
			if err != nil {
				errs = append(errs, err)
			} else {
				g.Purge.Kafka, changed = k, true
			}
		}
		if c := g.Purge.ClickHouse; waitsForClickHouse(g) {
			now := time.Now().UTC()
			switch {
			case horizon.After(c.UnreachableAt):
				c.Status, c.PurgedAt, c.Detail = Finished, &now, ""
				changed = true
				r.log.Info("regulation purged from ClickHouse's disks", "id", g.ID, "after", now.Sub(c.UnreachableAt))
			case c.DueBy != nil && now.After(*c.DueBy) && c.Detail != detailPastDue:
				c.Detail, changed = detailPastDue, true
				r.log.Warn("regulation: replaced ClickHouse parts still on disk past the purge bound", "id", g.ID, "due", *c.DueBy)
			}
		}
		if changed {
			if err := r.save(ctx, g); err != nil {
				return true, err
			}
		}
		open = open || purgeOpen(g, warehouse)
	}
	return open, errors.Join(errs...)
}

// detailPastDue is a ClickHouse purge's detail once it is late.
const detailPastDue = "past due: a replaced part is still on disk (a long-running query may hold it, or the table's part cleanup is slower than purgeWithin)"

func waitsForClickHouse(g *Regulation) bool {
	return g.Purge != nil && g.Purge.ClickHouse != nil && g.Purge.ClickHouse.Status == Running
}

// kafkaBound computes g's compaction bound from the configs of the topics
// its tombstone steps wrote to.
func (r *runner) kafkaBound(ctx context.Context, g *Regulation) (*KafkaPurge, error) {
	var at time.Time
	written := map[string]bool{}
	for _, st := range g.Steps {
		if !tombstoneStep(st.Name) || st.Status != Finished || st.Receipt == nil || len(st.Receipt.Offsets) == 0 {
			continue
		}
		if st.FinishedAt != nil && st.FinishedAt.After(at) {
			at = *st.FinishedAt
		}
		for _, o := range st.Receipt.Offsets {
			written[o.Topic] = true
		}
	}
	if len(written) == 0 {
		return &KafkaPurge{Detail: "no tombstones were written"}, nil
	}
	names := slices.Sorted(maps.Keys(written))
	configs, err := r.adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("reading the configs of %v: %w", names, err)
	}
	k := &KafkaPurge{TombstonedAt: at, ValuesGoneBy: at, TombstonesGoneBy: at,
		Detail: "computed from the topics' configs, not observed: the broker's cleaner adds its backlog " +
			"(log.cleaner.backoff.ms, dirtier logs first); on Kafka a partition's last segment rolls only when a " +
			"record arrives after segment.ms, while sluice's embedded broker ends it itself at every cleaning"}
	for _, rc := range configs {
		if rc.Err != nil {
			return nil, fmt.Errorf("reading the configs of %s: %w", rc.Name, rc.Err)
		}
		tc := TopicCompaction{Topic: rc.Name, SegmentMs: -1, DeleteRetentionMs: -1}
		for _, c := range rc.Configs {
			v, perr := strconv.ParseInt(c.MaybeValue(), 10, 64)
			switch {
			case perr != nil:
			case c.Key == "segment.ms":
				tc.SegmentMs = v
			case c.Key == "delete.retention.ms":
				tc.DeleteRetentionMs = v
			}
		}
		if tc.SegmentMs < 0 || tc.DeleteRetentionMs < 0 {
			return nil, fmt.Errorf("topic %s: segment.ms or delete.retention.ms not reported", rc.Name)
		}
		k.Topics = append(k.Topics, tc)
		seg := time.Duration(tc.SegmentMs) * time.Millisecond
		k.ValuesGoneBy = later(k.ValuesGoneBy, at.Add(seg))
		k.TombstonesGoneBy = later(k.TombstonesGoneBy, at.Add(seg+time.Duration(tc.DeleteRetentionMs)*time.Millisecond))
	}
	slices.SortFunc(k.Topics, func(a, b TopicCompaction) int { return cmp.Compare(a.Topic, b.Topic) })
	return k, nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
