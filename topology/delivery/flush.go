package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sourcegraph/conc/pool"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
)

// flush delivers the held records, each partition's in offset order and up
// to MaxInFlight partitions at once, then commits the offsets of every
// partition that was fully delivered or dead-lettered. dctx bounds the work;
// stop (the run's context) interrupts retries of a destination that is down,
// leaving those records uncommitted for redelivery.
func (e *Engine) flush(dctx, stop context.Context, cl *kgo.Client, held []*kgo.Record) error {
	byPartition := map[int32][]*kgo.Record{}
	for _, r := range held {
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	var (
		mu   sync.Mutex
		done []*kgo.Record
	)
	work := pool.New().WithErrors().WithMaxGoroutines(e.limits.MaxInFlight)
	for _, recs := range byPartition {
		work.Go(func() error {
			for _, chunk := range e.chunks(recs) {
				if err := e.deliver(dctx, stop, cl, chunk); err != nil {
					return err
				}
				mu.Lock()
				done = append(done, chunk...)
				mu.Unlock()
			}
			return nil
		})
	}
	werr := work.Wait()
	if len(done) > 0 {
		if err := cl.CommitRecords(dctx, done...); err != nil {
			return errors.Join(werr, fmt.Errorf("commit: %w", err))
		}
	}
	return werr
}

// chunks splits one partition's records into batches within the limits.
func (e *Engine) chunks(recs []*kgo.Record) [][]*kgo.Record {
	var out [][]*kgo.Record
	start, bytes := 0, 0
	for i, r := range recs {
		if i > start && (i-start >= e.limits.MaxEvents || bytes+len(r.Value) > e.limits.MaxBytes) {
			out = append(out, recs[start:i])
			start, bytes = i, 0
		}
		bytes += len(r.Value)
	}
	return append(out, recs[start:])
}

// deliver writes one partition's chunk, retrying what failed, until every
// record is delivered, dropped by the privacy re-check, or dead-lettered.
func (e *Engine) deliver(ctx, stop context.Context, cl *kgo.Client, chunk []*kgo.Record) error {
	m := e.metrics
	pending := make([]int, 0, len(chunk)) // indexes of records still to deliver
	events := make([]schemas.Event, len(chunk))
	plains := make([][]byte, len(chunk))
	kids := make([]shred.KeyID, len(chunk))
	var dead []deadLetter
	// The first barrier comes before the records are opened: the key table
	// then holds every data key written before the router routed them.
	if err := e.follower.CatchUp(ctx); err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	for i, r := range chunk {
		var reason string
		if plains[i], kids[i], reason = e.open(r); reason != "" {
			m.outcome(reason)
			continue
		}
		if err := schemas.DecodeRaw(plains[i], &events[i]); err != nil {
			dead = append(dead, deadLetter{rec: r, plain: plains[i], kid: kids[i], reason: "undecodable dest record", err: err.Error()})
			continue
		}
		pending = append(pending, i)
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		// The barrier: apply every suppression acknowledged before this
		// attempt (the first attempt's was taken above).
		if attempt > 1 {
			if err := e.follower.CatchUp(ctx); err != nil {
				return fmt.Errorf("tables: %w", err)
			}
		}
		b := sinks.Batch{Topic: e.topic, Partition: chunk[0].Partition, FirstOffset: chunk[0].Offset, LastOffset: chunk[len(chunk)-1].Offset}
		kept := pending[:0:0]
		for _, i := range pending {
			if e.shredded(kids[i]) {
				m.outcome("key_shredded")
				continue
			}
			if drop, reason := e.privacy.drop(&events[i]); drop {
				m.outcome(reason)
				continue
			}
			kept = append(kept, i)
			b.Events = append(b.Events, events[i])
			b.Offsets = append(b.Offsets, chunk[i].Offset)
		}
		pending = kept
		if len(pending) == 0 {
			break
		}
		start := time.Now()
		err := e.cfg.Sink.Write(ctx, b)
		m.writeSeconds.Observe(time.Since(start).Seconds())
		if err == nil {
			m.delivered.Add(float64(len(pending)))
			break
		}
		failed := pending
		var be *sinks.BatchError
		if errors.As(err, &be) {
			failed = make([]int, 0, len(be.Failed))
			for _, j := range be.Failed {
				if j >= 0 && j < len(pending) {
					failed = append(failed, pending[j])
				}
			}
			m.delivered.Add(float64(len(pending) - len(failed)))
		}
		class, reason := sinks.Classify(err)
		if class == sinks.Permanent || attempt >= e.cfg.MaxAttempts {
			for _, i := range failed {
				dead = append(dead, deadLetter{rec: chunk[i], plain: plains[i], kid: kids[i], reason: reason, err: err.Error(), attempts: attempt})
			}
			break
		}
		pending = failed
		m.retries.Inc()
		e.log.Warn("delivery failed; retrying", "attempt", attempt, "class", class.String(), "reason", reason, "error", err)
		if err := sleep(stop, backoff(attempt, e.cfg.RetryBase, e.cfg.RetryMax, err)); err != nil {
			return err
		}
	}
	return e.deadLetter(ctx, cl, dead)
}

// deadLetter is a record the destination will never get (its plaintext
// value and the key it was sealed with), and why.
type deadLetter struct {
	rec      *kgo.Record
	plain    []byte
	kid      shred.KeyID
	reason   string
	err      string
	attempts int
}

// deadLetter writes records to the dead-letter topic with the destination
// and the last error, sealed under their events' keys, waiting for the
// broker's acknowledgement. A record whose key was shredded meanwhile is
// dropped instead.
func (e *Engine) deadLetter(ctx context.Context, cl *kgo.Client, dead []deadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, 0, len(dead))
	for _, d := range dead {
		v, _ := json.Marshal(struct {
			Destination string `json:"destination"`
			Reason      string `json:"reason"`
			Error       string `json:"error"`
			Attempts    int    `json:"attempts"`
			Topic       string `json:"topic"`
			Partition   int32  `json:"partition"`
			Offset      int64  `json:"offset"`
			Event       string `json:"event"`
		}{e.cfg.Destination, d.reason, d.err, d.attempts, d.rec.Topic, d.rec.Partition, d.rec.Offset, string(d.plain)})
		if v, ok := e.seal(d.kid, v); ok {
			recs = append(recs, &kgo.Record{Topic: e.dlqTopic, Key: d.rec.Key, Value: v})
		} else {
			e.metrics.outcome("key_shredded")
		}
	}
	if len(recs) == 0 {
		return nil
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	e.metrics.outcomeN("deadletter", len(recs))
	return nil
}
