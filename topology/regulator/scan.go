package regulator

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// scan reads a topic's partitions (all of them when partitions is nil) from
// their start to the read-committed end offsets current at the call, and
// calls fn with every data record in offset order per partition. A topic
// that does not exist has nothing to read.
func (s *Service) scan(ctx context.Context, topic string, partitions []int32, fn func(*kgo.Record)) error {
	listed, err := s.adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		return fmt.Errorf("regulator: list end offsets of %s: %w", topic, err)
	}
	want := map[int32]bool{}
	for _, p := range partitions {
		want[p] = true
	}
	ends := map[int32]int64{}
	var failed error
	for _, o := range listed[topic] {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			failed = o.Err
		case o.Offset > 0 && (partitions == nil || want[o.Partition]):
			ends[o.Partition] = o.Offset
		}
	}
	if failed != nil {
		return fmt.Errorf("regulator: list end offsets of %s: %w", topic, failed)
	}
	if len(ends) == 0 {
		return nil
	}
	starts := map[int32]kgo.Offset{}
	for p := range ends {
		starts[p] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers count as progress: a partition whose last
		// record below the end is a marker would otherwise never finish.
		kgo.KeepControlRecords(),
	}, s.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("regulator: %w", err)
	}
	defer cl.Close()
	for len(ends) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("regulator: reading %s: %w", topic, err)
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.Canceled) {
				return fmt.Errorf("regulator: reading %s: %w", topic, fe.Err)
			}
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := ends[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
			if r.Offset+1 >= end {
				delete(ends, r.Partition)
			}
		})
	}
	return nil
}

// partitionOf returns the partition a keyed record goes to on a topic of n
// partitions: Kafka's murmur2, as every sluice producer uses.
func partitionOf(topic string, key []byte, n int) int32 {
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic(topic).Partition(&kgo.Record{Key: key}, n))
}

// partitionCount returns how many partitions topic has; 0 when it does not exist.
func (s *Service) partitionCount(ctx context.Context, topic string) (int, error) {
	listed, err := s.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return 0, fmt.Errorf("regulator: list partitions of %s: %w", topic, err)
	}
	n := 0
	for _, o := range listed[topic] {
		if o.Err == nil && o.Partition >= 0 {
			n++
		}
	}
	return n, nil
}
