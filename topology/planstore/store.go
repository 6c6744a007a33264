package planstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Store publishes and looks up plan versions. Safe for concurrent use.
type Store struct {
	cfg   Config
	topic string
	cl    *kgo.Client // producer: idempotent, acks=all
	adm   *kadm.Client
	log   *slog.Logger
}

// New connects a Store. It does not block: broker errors surface on use.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.brokers()...),
		// Idempotent writes are franz-go's default; acks=all is what makes a
		// published version survive a broker loss.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.DefaultProduceTopic(cfg.Topic()),
	}, cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("planstore: %w", err)
	}
	return &Store{cfg: cfg, topic: cfg.Topic(), cl: cl, adm: kadm.NewClient(cl), log: cfg.logger()}, nil
}

// Close releases the Store's connections.
func (s *Store) Close() { s.cl.Close() }

// Topic is the topic the Store uses.
func (s *Store) Topic() string { return s.topic }

// EnsureTopic creates the topic (one partition, cleanup.policy=compact) if
// it does not exist, and fails if it exists without compaction: a deleting
// topic would lose published plans.
func (s *Store) EnsureTopic(ctx context.Context) error {
	compact := "compact"
	_, err := s.adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, s.topic)
	if err == nil {
		return nil
	}
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("planstore: create topic %s: %w", s.topic, err)
	}
	rcs, err := s.adm.DescribeTopicConfigs(ctx, s.topic)
	if err != nil {
		return fmt.Errorf("planstore: describe topic %s: %w", s.topic, err)
	}
	rc, err := rcs.On(s.topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		return fmt.Errorf("planstore: describe topic %s: %w", s.topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil && !containsCompact(*c.Value) {
			return fmt.Errorf("planstore: topic %s has cleanup.policy=%s; tracking plans need compact", s.topic, *c.Value)
		}
	}
	return nil
}

func containsCompact(policy string) bool {
	for _, p := range splitComma(policy) {
		if p == "compact" {
			return true
		}
	}
	return false
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// endOffsets lists the topic's end offsets; an absent topic has none.
func endOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	listed, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, fmt.Errorf("planstore: list end offsets of %s: %w", topic, err)
	}
	ends := map[int32]int64{}
	var failed error
	listed.Each(func(o kadm.ListedOffset) {
		switch {
		case errors.Is(o.Err, kerr.UnknownTopicOrPartition):
		case o.Err != nil:
			failed = o.Err
		default:
			ends[o.Partition] = o.Offset
		}
	})
	if failed != nil {
		return nil, fmt.Errorf("planstore: list end offsets of %s: %w", topic, failed)
	}
	return ends, nil
}

// scan reads the topic from the start to the end offsets current when it
// was called, calling fn for every record in partition order.
func (s *Store) scan(ctx context.Context, fn func(*kgo.Record)) error {
	ends, err := endOffsets(ctx, s.adm, s.topic)
	if err != nil {
		return err
	}
	starts := map[int32]kgo.Offset{}
	for p, end := range ends {
		if end > 0 {
			starts[p] = kgo.NewOffset().AtStart()
		} else {
			delete(ends, p) // nothing to wait for in an empty partition
		}
	}
	if len(starts) == 0 {
		return nil
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.brokers()...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.topic: starts}),
		// A partition may end with a transaction marker (the dev broker's
		// cleaner writes them): it is read to know the end was reached.
		kgo.KeepControlRecords(),
	}, s.cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("planstore: %w", err)
	}
	defer cl.Close()
	// Compaction keeps the last batch of a partition, so the record just
	// below each end offset (a marker included) is always there to be read.
	for len(ends) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return fmt.Errorf("planstore: read %s: %w", s.topic, errs[0].Err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			end, ok := ends[r.Partition]
			if !ok || r.Offset >= end {
				return // past the snapshot
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
