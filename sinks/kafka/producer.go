package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sinks"
)

// producer is the transactional producer of one source partition.
type producer struct {
	s   *Sink
	key partitionKey

	mu sync.Mutex // one Write of the partition at a time
	// cl is nil until started, and again after a failure: the next Write
	// starts a new session, which reads the state afresh.
	cl *kgo.Client
	// last is the last source offset delivered; valid while cl is set.
	last int64
}

// producer returns the partition's producer, creating it on first use.
func (s *Sink) producer(pk partitionKey) (*producer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("kafka: %w", sinks.ErrClosed)
	}
	p := s.producers[pk]
	if p == nil {
		p = &producer{s: s, key: pk}
		s.producers[pk] = p
	}
	return p, nil
}

// transactionalID is stable for a destination topic and source partition,
// so a restarted sink, or whichever process now owns the partition, takes
// over the same id and fences the one before.
func (p *producer) transactionalID() string {
	return p.s.cfg.TransactionalIDPrefix + "." + p.s.cfg.Topic + "." + p.key.topic + "." + strconv.Itoa(int(p.key.partition))
}

// stateKey is the partition's record key in the state topic. Topic names
// cannot hold "/", so the key is unambiguous.
func (p *producer) stateKey() string {
	return "sink/" + p.s.cfg.Topic + "/" + p.key.topic + "/" + strconv.Itoa(int(p.key.partition))
}

// state is the state topic's value: the last source offset delivered.
type state struct {
	LastOffset int64     `json:"lastOffset"`
	UpdatedAt  time.Time `json:"updatedAt"`
}

func (p *producer) write(ctx context.Context, b *sinks.Batch) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cl == nil {
		if err := p.start(ctx); err != nil {
			return err
		}
	}
	var idx []int
	for i, o := range b.Offsets {
		if o > p.last {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil // delivered before, by this session or a predecessor
	}
	err := p.txn(ctx, b, idx)
	var be *sinks.BatchError
	if errors.As(err, &be) {
		// Records refused for good: deliver the others in a new transaction.
		rest := slices.DeleteFunc(slices.Clone(idx), func(i int) bool { _, found := slices.BinarySearch(be.Failed, i); return found })
		if len(rest) > 0 {
			if err := p.txn(ctx, b, rest); err != nil {
				p.reset()
				return err
			}
		}
		p.last = b.LastOffset
		return be
	}
	if err != nil {
		p.reset()
		return err
	}
	p.last = b.LastOffset
	return nil
}

// start opens a transactional session: it takes over the transactional id
// (fencing a predecessor and ending its open transaction), then reads the
// last offset delivered.
func (p *producer) start(ctx context.Context) error {
	opts := append(slices.Clone(p.s.opts),
		kgo.TransactionalID(p.transactionalID()),
		kgo.RecordDeliveryTimeout(p.s.cfg.DeliveryTimeout),
		kgo.ProducerLinger(0),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return fmt.Errorf("kafka: starting the transactional producer %s: %w", p.transactionalID(), err)
	}
	last, err := p.s.readState(ctx, p.stateKey())
	if err != nil {
		cl.Close()
		return err
	}
	p.s.cfg.Logger.Info("kafka producer session", "transactional_id", p.transactionalID(), "last_offset", last)
	p.cl, p.last = cl, last
	return nil
}

func (p *producer) reset() {
	if p.cl != nil {
		p.cl.Close()
		p.cl = nil
	}
}

func (p *producer) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reset()
}

// txn writes the chosen events and the new state in one transaction.
func (p *producer) txn(ctx context.Context, b *sinks.Batch, idx []int) error {
	if err := p.cl.BeginTransaction(); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	value, _ := json.Marshal(state{LastOffset: b.LastOffset, UpdatedAt: time.Now().UTC()})
	st := &kgo.Record{Topic: p.s.cfg.StateTopic, Key: []byte(p.stateKey()), Value: value}
	if err := p.s.writeOnce(ctx, b, p.cl, idx, st, p.reset); err != nil {
		if p.cl == nil {
			return err // timed out: the session is closed
		}
		abortErr := p.cl.AbortBufferedRecords(ctx)
		if abortErr == nil {
			abortErr = p.cl.EndTransaction(ctx, kgo.TryAbort)
		}
		if abortErr != nil {
			p.reset()
			var be *sinks.BatchError
			if errors.As(err, &be) {
				// The abort failed: nothing of this attempt is known to be
				// written, so the whole batch is retried.
				return fmt.Errorf("kafka: aborting a transaction: %w (after %v)", abortErr, be.Err)
			}
		}
		return err
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		// The outcome is unknown: aborting reloads the producer id, which
		// ends whatever is open; the next session reads the state.
		_ = p.cl.EndTransaction(ctx, kgo.TryAbort)
		return fmt.Errorf("kafka: committing the transaction: %w", err)
	}
	return nil
}

// readState returns the last delivered offset stored under key, or -1. It
// reads the state topic with read_committed up to its end, so a transaction
// still open (another partition's) is waited for.
func (s *Sink) readState(ctx context.Context, key string) (int64, error) {
	ends, err := s.endOffsets(ctx, s.cfg.StateTopic)
	if err != nil {
		return -1, err
	}
	targets := map[int32]int64{}
	offsets := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			targets[o.Partition] = o.Offset
			offsets[o.Partition] = kgo.NewOffset().AtStart()
		}
	})
	if len(targets) == 0 {
		return -1, nil
	}
	opts := append(slices.Clone(s.opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{s.cfg.StateTopic: offsets}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Control records (transaction markers) tell how far the read got
		// when the log ends with one.
		kgo.KeepControlRecords(),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return -1, fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	last := int64(-1)
	for len(targets) > 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return -1, fmt.Errorf("kafka: reading %s: %w", s.cfg.StateTopic, err)
		}
		var ferr error
		fetches.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return -1, fmt.Errorf("kafka: reading %s: %w", s.cfg.StateTopic, ferr)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			if r.Offset+1 >= targets[r.Partition] {
				delete(targets, r.Partition)
			}
			if r.Attrs.IsControl() || string(r.Key) != key {
				return
			}
			var st state
			if r.Value == nil || json.Unmarshal(r.Value, &st) != nil {
				last = -1
				return
			}
			last = st.LastOffset
		})
	}
	return last, nil
}

// endOffsets lists a topic's end offsets. A topic created moments ago may be
// unknown to the client's cached metadata: it refreshes and retries briefly.
func (s *Sink) endOffsets(ctx context.Context, topic string) (kadm.ListedOffsets, error) {
	for attempt := 0; ; attempt++ {
		ends, err := s.adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err == nil {
			return ends, nil
		}
		if !errors.Is(err, kerr.UnknownTopicOrPartition) || attempt == 50 {
			return nil, fmt.Errorf("kafka: reading the end of %s: %w", topic, err)
		}
		s.plain.ForceMetadataRefresh()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, fmt.Errorf("kafka: reading the end of %s: %w", topic, ctx.Err())
		}
	}
}
