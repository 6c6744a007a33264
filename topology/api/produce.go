package api

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas"
)

// ProducerOpts are the kgo options the api role's producer needs, to add to
// the seed brokers: acks from every in-sync replica and idempotent writes
// (kgo's defaults, restated so nothing undoes them), and a delivery timeout
// so that records of an unreachable broker fail rather than wait forever.
func ProducerOpts(deliveryTimeout time.Duration) []kgo.Opt {
	if deliveryTimeout <= 0 {
		deliveryTimeout = DefaultProduceTimeout
	}
	return []kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordDeliveryTimeout(deliveryTimeout),
		// A short linger: concurrent requests fill batches on their own,
		// and every millisecond here is a millisecond of answer latency.
		kgo.ProducerLinger(time.Millisecond),
	}
}

// checkProducer refuses a producer that could answer 200 for events a broker
// failure may lose, or that cannot produce outside a transaction.
func checkProducer(cl *kgo.Client) error {
	if cl == nil {
		return errors.New("api: Producer: required")
	}
	if acks, _ := cl.OptValue(kgo.RequiredAcks).(kgo.Acks); acks != kgo.AllISRAcks() {
		return errors.New("api: Producer: needs RequiredAcks(AllISRAcks()), see ProducerOpts")
	}
	if disabled, _ := cl.OptValue(kgo.DisableIdempotentWrite).(bool); disabled {
		return errors.New("api: Producer: needs idempotent writes, see ProducerOpts")
	}
	if id, _ := cl.OptValue(kgo.TransactionalID).(string); id != "" {
		return errors.New("api: Producer: must not be transactional")
	}
	return nil
}

var (
	errBufferFull     = errors.New("the producer's buffer is full")
	errProduceTimeout = errors.New("no acknowledgement in time")
)

// ack collects the outcomes of one request's records. kgo calls promises
// serially, one goroutine, so only the first error needs a lock.
type ack struct {
	pending atomic.Int64
	mu      sync.Mutex
	err     error
	done    chan struct{}
	promise func(*kgo.Record, error)
}

func newAck() *ack {
	a := &ack{}
	a.promise = func(_ *kgo.Record, err error) {
		if err != nil {
			a.mu.Lock()
			if a.err == nil {
				a.err = err
			}
			a.mu.Unlock()
		}
		if a.pending.Add(-1) == 0 {
			close(a.done)
		}
	}
	return a
}

func (a *ack) reset(n int) {
	a.err = nil
	a.done = make(chan struct{})
	a.pending.Store(int64(n))
}

// produce writes a request's events to events.raw, keyed by user, and waits
// until the broker acknowledged all of them (nil), one failed (its error),
// ProduceTimeout passed, or the client went away. Only a nil return lets
// st be reused: otherwise kgo may still hold its records.
//
// The records are produced under ctx stripped of its cancellation: kgo fails
// every buffered record of a partition when the first record's context is
// cancelled, so one client hanging up would fail other clients' events.
func (s *Server) produce(ctx context.Context, st *reqState, src *source, receivedAt time.Time) error {
	events := st.payload.Events
	n := len(events)
	if err := s.ensureKeys(ctx, st); err != nil {
		return err
	}
	// Keys and values go into one buffer: one allocation per request, and
	// the offsets are taken first because the buffer may move as it grows.
	st.buf = st.buf[:0]
	st.offsets = st.offsets[:0]
	for i := range events {
		e := &events[i]
		e.Workspace, e.Source = s.workspace, src.name
		st.buf = e.AppendKey(st.buf)
		st.offsets = append(st.offsets, len(st.buf))
		var err error
		if st.buf, err = s.appendValue(st.buf, st, i, e); err != nil {
			return err
		}
		st.offsets = append(st.offsets, len(st.buf))
	}
	if cap(st.records) < n {
		st.records = make([]kgo.Record, n)
	}
	st.records = st.records[:n]
	start := 0
	for i := range st.records {
		keyEnd, valEnd := st.offsets[2*i], st.offsets[2*i+1]
		st.records[i] = kgo.Record{
			Topic:     s.rawTopic,
			Key:       st.buf[start:keyEnd:keyEnd],
			Value:     st.buf[keyEnd:valEnd:valEnd],
			Timestamp: receivedAt,
		}
		start = valEnd
	}

	// Refuse up front rather than have part of the request buffered: a
	// request either goes to the broker whole or not at all.
	if s.maxBuffered > 0 && s.producer.BufferedProduceRecords()+int64(n) > s.maxBuffered {
		return errBufferFull
	}
	pctx := context.WithoutCancel(ctx)
	began := time.Now()
	st.ack.reset(n)
	for i := range st.records {
		s.producer.TryProduce(pctx, &st.records[i], st.ack.promise)
	}
	timer := time.NewTimer(s.cfg.ProduceTimeout)
	defer timer.Stop()
	select {
	case <-st.ack.done:
		s.metrics.produceLatency.Observe(time.Since(began).Seconds())
		if st.ack.err != nil {
			return fmt.Errorf("producing to %s: %w", s.rawTopic, st.ack.err)
		}
		return nil
	case <-timer.C:
		st.inFlight = true
		return fmt.Errorf("%w after %v", errProduceTimeout, s.cfg.ProduceTimeout)
	case <-ctx.Done():
		st.inFlight = true
		return ctx.Err()
	}
}

// reqState is the reusable memory of one tracking request.
type reqState struct {
	body    []byte
	payload schemas.Payload
	buf     []byte
	offsets []int
	records []kgo.Record
	seal    sealScratch
	ack     *ack
	// inFlight marks a state whose records kgo may still hold.
	inFlight bool
}

// maxPooledBody keeps pooled states from pinning the largest bodies seen.
const maxPooledBody = 1 << 20

func (s *Server) getState() *reqState {
	if st, ok := s.states.Get().(*reqState); ok {
		return st
	}
	return &reqState{ack: newAck()}
}

func (s *Server) putState(st *reqState) {
	if st.inFlight || cap(st.body) > maxPooledBody || cap(st.buf) > 2*maxPooledBody {
		return
	}
	// Drop references into the body so a pooled state pins nothing.
	clear(st.payload.Events)
	st.payload.Events = st.payload.Events[:0]
	clear(st.records)
	s.states.Put(st)
}
