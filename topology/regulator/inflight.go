package regulator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// endOffsets returns the high watermark of every partition of topic that
// holds records; none when the topic does not exist. The high watermark,
// not the last stable offset, because a committed transaction may lie above
// the start of another producer's open one: the package doc says why.
func (s *Service) endOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	listed, err := s.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("regulator: list end offsets of %s: %w", topic, err)
	}
	ends := map[int32]int64{}
	for _, o := range listed[topic] {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			return nil, fmt.Errorf("regulator: list end offsets of %s: %w", topic, o.Err)
		case o.Offset > 0:
			ends[o.Partition] = o.Offset
		}
	}
	return ends, nil
}

// behind is one partition a group has not passed yet.
type behind struct {
	partition int32
	committed int64 // -1: nothing committed
	end       int64
}

// groupPassed reports whether group has consumed topic up to ends: for
// every partition, its committed offset is at or past the end, or nothing
// but transaction markers and aborted records lies between the two. If not,
// it returns the partitions still behind.
func (s *Service) groupPassed(ctx context.Context, group, topic string, ends map[int32]int64) ([]behind, error) {
	if len(ends) == 0 {
		return nil, nil
	}
	committed, err := s.adm.FetchOffsets(ctx, group)
	switch {
	case errors.Is(err, kerr.GroupIDNotFound):
		committed = nil // a group that never committed: behind everywhere
	case err != nil:
		return nil, fmt.Errorf("regulator: fetch offsets of group %s: %w", group, err)
	}
	var late []behind
	for _, p := range slices.Sorted(maps.Keys(ends)) {
		at := int64(-1)
		if o, ok := committed.Lookup(topic, p); ok && o.Err == nil {
			at = o.At
		}
		if at < ends[p] {
			late = append(late, behind{partition: p, committed: at, end: ends[p]})
		}
	}
	if len(late) == 0 {
		return nil, nil
	}
	return s.dataBetween(ctx, topic, late)
}

// gapReadTimeout bounds one look at the records between a group's
// committed offsets and the ends: records of a transaction still open cannot
// be read until it ends, and the partition then counts as behind.
const gapReadTimeout = 2 * time.Second

// dataBetween keeps the partitions that hold a record a consumer would be
// given (read-committed, not a marker) between committed and end. A sink
// commits the offset after the last record it delivered, so the commit
// marker that ends a transaction is left below the end forever.
func (s *Service) dataBetween(ctx context.Context, topic string, late []behind) ([]behind, error) {
	starts := map[int32]kgo.Offset{}
	for _, b := range late {
		starts[b.partition] = kgo.NewOffset().At(max(b.committed, 0))
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, s.cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("regulator: %w", err)
	}
	defer cl.Close()
	open := map[int32]behind{}
	for _, b := range late {
		open[b.partition] = b
	}
	var data []behind
	ctx, cancel := context.WithTimeout(ctx, gapReadTimeout)
	defer cancel()
	for len(open) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fetches.EachRecord(func(r *kgo.Record) {
			b, ok := open[r.Partition]
			if !ok {
				return
			}
			switch {
			case r.Offset >= b.end:
				delete(open, r.Partition) // only markers or aborted records before the end
			case !r.Attrs.IsControl():
				data = append(data, b)
				delete(open, r.Partition)
			case r.Offset+1 >= b.end:
				delete(open, r.Partition)
			}
		})
	}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	for _, b := range open {
		data = append(data, b) // unread in time: count as behind
	}
	slices.SortFunc(data, func(a, b behind) int { return int(a.partition - b.partition) })
	return data, nil
}

// describeBehind says what a wait is for, e.g.
// "waiting for group sluice-router on sluice.events.raw: p0 at 3 of 9".
func describeBehind(group, topic string, late []behind) string {
	var b strings.Builder
	b.WriteString("waiting for consumer group " + group + " on " + topic + ":")
	for i, l := range late {
		if i == 3 {
			b.WriteString(" and " + strconv.Itoa(len(late)-3) + " more partitions")
			break
		}
		at := "nothing committed"
		if l.committed >= 0 {
			at = "at " + strconv.FormatInt(l.committed, 10)
		}
		fmt.Fprintf(&b, " p%d %s of %d", l.partition, at, l.end)
	}
	return b.String()
}

// offsetList renders ends as receipt offsets.
func offsetList(group, topic string, ends map[int32]int64) []Offset {
	var out []Offset
	for _, p := range slices.Sorted(maps.Keys(ends)) {
		out = append(out, Offset{Topic: topic, Partition: p, Offset: ends[p], Group: group})
	}
	return out
}

// maxOffsets merges ends into into, keeping the larger offset per partition.
func maxOffsets(into, ends map[int32]int64) map[int32]int64 {
	if into == nil {
		into = map[int32]int64{}
	}
	for p, o := range ends {
		into[p] = max(into[p], o)
	}
	return into
}
