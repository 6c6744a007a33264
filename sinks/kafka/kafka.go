// Package kafka delivers events to a Kafka topic, on sluice's cluster or
// another one, keyed as on the dest.<name> topic ("workspace/user") so one
// user's events stay in order on one partition. Values are the routed event
// JSON; headers name where sluice read each event (sluice-topic,
// sluice-partition, sluice-offset), which lets consumers of an
// at-least-once sink drop copies.
//
// # Exactly once
//
// By default each batch is one Kafka transaction, per source partition (a
// transactional id per source partition, so the next owner of a partition
// fences a crashed or stalled predecessor): the batch's records, and in the
// compacted state topic the batch's last source offset. Before its first
// batch a producer reads that offset and skips events at or below it, so a
// batch re-delivered after a crash between delivery and the source commit,
// however the engine cut it, is not written again. Consumers must read with
// isolation.level=read_committed to see each event once (franz-go's and the
// Java client's default is read_uncommitted, which also shows records of
// aborted attempts). With exactlyOnce: false the sink uses a plain
// idempotent producer: at-least-once, copies identified by the headers.
//
// # Deletion
//
// The sink is a sinks.Deleter: Delete produces a tombstone (null value) for
// each subject's key, "workspace/userId" and "workspace/anonymousId". Only
// a topic with cleanup.policy=compact forgets the older records; the
// receipt says which policy the topic has.
package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sinks"
)

// Header names on every produced record.
const (
	HeaderTopic     = "sluice-topic"
	HeaderPartition = "sluice-partition"
	HeaderOffset    = "sluice-offset"
)

// Sink produces batches to a Kafka topic.
type Sink struct {
	cfg  Config
	opts []kgo.Opt
	// plain is the idempotent, non-transactional client: at-least-once
	// writes and tombstones.
	plain *kgo.Client
	adm   *kadm.Client

	mu        sync.Mutex
	closed    bool
	inflight  sync.WaitGroup
	producers map[partitionKey]*producer
}

type partitionKey struct {
	topic     string
	partition int32
}

var (
	_ sinks.Sink    = (*Sink)(nil)
	_ sinks.Deleter = (*Sink)(nil)
)

// Open checks that the topic exists, creates the state topic if missing,
// and returns the sink. ctx bounds the opening only.
func Open(ctx context.Context, cfg Config) (*Sink, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.clientOpts()
	if err != nil {
		return nil, err
	}
	plain, err := kgo.NewClient(append(opts[:len(opts):len(opts)],
		kgo.RecordDeliveryTimeout(cfg.DeliveryTimeout),
		// At-least-once: a record the brokers keep refusing fails after
		// DeliveryTimeout rather than waiting for a definite answer.
		kgo.AllowIdempotentProduceCancellation(),
		kgo.ProducerLinger(0),
	)...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	s := &Sink{cfg: cfg, opts: opts, plain: plain, adm: kadm.NewClient(plain), producers: map[partitionKey]*producer{}}
	if err := s.open(ctx); err != nil {
		plain.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sink) open(ctx context.Context) error {
	topics, err := s.adm.ListTopics(ctx, s.cfg.Topic, s.cfg.StateTopic)
	if err != nil {
		return fmt.Errorf("kafka: listing topics: %w", err)
	}
	exists := func(t string) bool { td, ok := topics[t]; return ok && td.Err == nil }
	if !exists(s.cfg.Topic) {
		return fmt.Errorf("kafka: topic %s does not exist on %v: create it first", s.cfg.Topic, s.cfg.Brokers)
	}
	if *s.cfg.ExactlyOnce && !exists(s.cfg.StateTopic) {
		cleanup := "compact"
		res, err := s.adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &cleanup}, s.cfg.StateTopic)
		if err == nil {
			err = res.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("kafka: creating the state topic %s: %w", s.cfg.StateTopic, err)
		}
	}
	return nil
}

// Limits are the configured batch bounds.
func (s *Sink) Limits() sinks.Limits {
	return sinks.Limits{MaxEvents: s.cfg.BatchEvents, MaxBytes: s.cfg.BatchBytes, MaxWait: s.cfg.BatchWait, MaxInFlight: s.cfg.InFlight}
}

// Close waits for Writes in flight, then closes every client.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	for _, p := range s.producers {
		p.close()
	}
	s.mu.Unlock()
	s.plain.Close()
	return err
}

func (s *Sink) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("kafka: %w", sinks.ErrClosed)
	}
	s.inflight.Add(1)
	return nil
}

// Write produces the batch's events; see the package doc for what a
// re-delivered batch does. Records the brokers refuse for good (too large,
// say) fail alone: the others are written and the refused ones named in a
// *sinks.BatchError.
func (s *Sink) Write(ctx context.Context, b sinks.Batch) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.inflight.Done()
	if err := b.Validate(); err != nil {
		return err
	}
	if !*s.cfg.ExactlyOnce {
		return s.writeOnce(ctx, &b, s.plain, all(len(b.Events)), nil, nil)
	}
	p, err := s.producer(partitionKey{b.Topic, b.Partition})
	if err != nil {
		return err
	}
	return p.write(ctx, &b)
}

// records makes the records of the chosen events.
func (s *Sink) records(b *sinks.Batch, idx []int) []*kgo.Record {
	out := make([]*kgo.Record, len(idx))
	partition := []byte(strconv.Itoa(int(b.Partition)))
	for n, i := range idx {
		e := &b.Events[i]
		out[n] = &kgo.Record{
			Topic: s.cfg.Topic,
			Key:   e.AppendKey(nil),
			Value: e.AppendRaw(nil),
			Headers: []kgo.RecordHeader{
				{Key: HeaderTopic, Value: []byte(b.Topic)},
				{Key: HeaderPartition, Value: partition},
				{Key: HeaderOffset, Value: strconv.AppendInt(nil, b.Offsets[i], 10)},
			},
		}
	}
	return out
}

// writeOnce produces the chosen events (and extra, e.g. the state record)
// and waits for all of them. It returns a *sinks.BatchError when only some
// failed, each for a permanent reason, and any other error as is.
func (s *Sink) writeOnce(ctx context.Context, b *sinks.Batch, cl *kgo.Client, idx []int, extra *kgo.Record, abort func()) error {
	recs := s.records(b, idx)
	if extra != nil {
		recs = append(recs, extra)
	}
	if len(recs) == 0 {
		return nil
	}
	results, err := s.produce(ctx, cl, recs, abort)
	if err != nil {
		return err
	}
	// Results come in the order records finish, not the order given.
	pos := make(map[*kgo.Record]int, len(recs))
	for n, r := range recs {
		pos[r] = n
	}
	failed := map[int]error{}
	var first error
	for _, r := range results {
		if r.Err == nil {
			continue
		}
		n := pos[r.Record]
		if n >= len(idx) { // the state record
			return fmt.Errorf("kafka: writing the delivery state: %w", r.Err)
		}
		failed[idx[n]] = r.Err
		if first == nil {
			first = r.Err
		}
	}
	if len(failed) == 0 {
		return nil
	}
	return partial(failed, first, len(idx))
}

// produce produces the records and waits for them, at most DeliveryTimeout.
// A transactional client waits for the brokers' definite answer even past
// RecordDeliveryTimeout (an idempotent sequence must not be abandoned), so
// on time out a transactional client (abort) is closed, which fails its
// records with kgo.ErrClientClosed; the partition's next Write starts a new
// session, whose fencing ends the abandoned transaction.
func (s *Sink) produce(ctx context.Context, cl *kgo.Client, recs []*kgo.Record, abort func()) (kgo.ProduceResults, error) {
	pctx, cancel := context.WithTimeout(ctx, s.cfg.DeliveryTimeout)
	defer cancel()
	done := make(chan kgo.ProduceResults, 1)
	go func() { done <- cl.ProduceSync(pctx, recs...) }()
	select {
	case res := <-done:
		return res, nil
	case <-pctx.Done():
	}
	if abort != nil {
		abort()
	}
	res := <-done
	var last error
	for _, r := range res {
		if r.Err != nil && !errors.Is(r.Err, kgo.ErrClientClosed) && !errors.Is(r.Err, context.DeadlineExceeded) {
			last = r.Err
		}
	}
	err := fmt.Errorf("kafka: records not acknowledged within %v: %w", s.cfg.DeliveryTimeout, kgo.ErrRecordTimeout)
	if ctx.Err() != nil {
		err = fmt.Errorf("kafka: %w", ctx.Err())
	}
	if last != nil {
		err = errors.Join(err, last)
	}
	return nil, err
}

// partial returns a *sinks.BatchError when every failure is permanent, else
// the first retryable error for the whole batch.
func partial(failed map[int]error, first error, total int) error {
	be := &sinks.BatchError{Err: fmt.Errorf("kafka: %w", first)}
	for i, err := range failed {
		if c, _ := sinks.Classify(err); c != sinks.Permanent {
			return fmt.Errorf("kafka: %d of %d records not written: %w", len(failed), total, err)
		}
		be.Failed = append(be.Failed, i)
	}
	slices.Sort(be.Failed)
	return be
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
