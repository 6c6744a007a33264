package delivery

import (
	"context"
	"encoding/binary"
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
	"github.com/sluicehq/sluice/topology/topics"
)

// flush delivers the held records, each partition's in offset order and up
// to MaxInFlight partitions at once. Before every write attempt it commits
// the batch's cut (see commit), and after a partition's last batch the
// offset after it. dctx bounds the work; stop (cancelled on shutdown or when
// a rebalance waits) interrupts retries, leaving the batch uncommitted. For
// each partition it did not finish, unfinished holds where to resume.
func (e *Engine) flush(dctx, stop context.Context, cl *kgo.Client, held []*kgo.Record) (unfinished map[int32]kgo.EpochOffset, _ error) {
	byPartition := map[int32][]*kgo.Record{}
	for _, r := range held {
		byPartition[r.Partition] = append(byPartition[r.Partition], r)
	}
	var mu sync.Mutex
	unfinished = map[int32]kgo.EpochOffset{}
	work := pool.New().WithErrors().WithMaxGoroutines(e.limits.MaxInFlight)
	for n, recs := range byPartition {
		work.Go(func() error {
			resume, err := e.flushPartition(dctx, stop, cl, n, recs)
			if err != nil {
				mu.Lock()
				unfinished[n] = kgo.EpochOffset{Epoch: -1, Offset: resume}
				mu.Unlock()
			}
			return err
		})
	}
	return unfinished, work.Wait()
}

// flushPartition delivers one partition's records batch by batch; on error
// it returns the offset to resume from.
func (e *Engine) flushPartition(ctx, stop context.Context, cl *kgo.Client, n int32, recs []*kgo.Record) (resume int64, _ error) {
	p := e.owned.get(n)
	at := p.settledAt
	chunks := e.chunks(p, recs)
	for i, chunk := range chunks {
		var since time.Time
		if i == 0 && p.cut.applies(p.committed, chunk[0].Offset) {
			since = p.cut.since
		}
		if err := e.deliver(ctx, stop, cl, n, p, chunk, commitMeta{at: at, cut: cut{last: chunk[len(chunk)-1].Offset, since: since}}); err != nil {
			return chunk[0].Offset, err
		}
		at = chunk[len(chunk)-1].Timestamp
		var next *kgo.Record
		if i+1 < len(chunks) {
			next = chunks[i+1][0]
		}
		e.owned.settled(p, next)
	}
	last := recs[len(recs)-1]
	if err := e.commit(ctx, cl, p, n, last.Offset+1, commitMeta{at: at, cut: noCut}); err != nil {
		return last.Offset + 1, err
	}
	return last.Offset + 1, nil
}

// chunks splits one partition's records into batches within the limits.
// The batch a commit announced (the cut) comes first, cut as announced.
func (e *Engine) chunks(p *partition, recs []*kgo.Record) [][]*kgo.Record {
	var out [][]*kgo.Record
	if p.cut.applies(p.committed, recs[0].Offset) {
		i := 0
		for i < len(recs) && recs[i].Offset <= p.cut.last {
			i++
		}
		out, recs = append(out, recs[:i]), recs[i:]
	}
	if len(recs) == 0 {
		return out
	}
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

// deliver settles one batch of a partition: every record is delivered,
// skipped as a duplicate, dropped by the privacy re-check, or dead-lettered.
// A retryable failure is retried until meta.cut.since + RetryHorizon.
// Before every write attempt, meta is committed: the cut and the time of
// its first failure survive a crash or a rebalance, and a member that lost
// the partition finds out before it writes. Then the tables catch up (the
// barrier) and the privacy re-check runs, right before the write.
func (e *Engine) deliver(ctx, stop context.Context, cl *kgo.Client, n int32, p *partition, chunk []*kgo.Record, meta commitMeta) error {
	m := e.metrics
	first, last := chunk[0], chunk[len(chunk)-1]
	events := make([]schemas.Event, len(chunk))
	plains := make([][]byte, len(chunk))
	kids := make([]shred.KeyID, len(chunk))
	hashes := make([]uint64, len(chunk))
	var pending []int // indexes of records still to deliver
	var dead []deadLetter
	// The first barrier comes before the records are opened: the key table
	// then holds every data key written before the router routed them.
	if err := e.follower.CatchUp(ctx); err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	inChunk := map[uint64]bool{}
	for i, r := range chunk {
		h, hasHash := topics.MessageHashOf(r.Headers)
		if hasHash && e.duplicate(p, inChunk, h, r.Timestamp) {
			m.outcome("duplicate")
			continue
		}
		var reason string
		if plains[i], kids[i], reason = e.open(r); reason != "" {
			m.outcome(reason)
			if hasHash {
				e.settle(p, h, r.Timestamp)
			}
			continue
		}
		if err := schemas.DecodeRaw(plains[i], &events[i]); err != nil {
			dead = append(dead, deadLetter{rec: r, plain: plains[i], kid: kids[i], hash: h, code: reasonUndecodable, reason: "undecodable dest record", err: err.Error()})
			continue
		}
		if !hasHash {
			h = messageHash(r, events[i].Workspace, events[i].MessageID)
			if e.duplicate(p, inChunk, h, r.Timestamp) {
				m.outcome("duplicate")
				continue
			}
		}
		inChunk[h], hashes[i] = true, h
		pending = append(pending, i)
	}
	for attempt := 1; len(pending) > 0; attempt++ {
		// The commit (the cut, and the lease check) comes before the
		// barrier, so that nothing but the privacy check stands between
		// the barrier and the write.
		if err := e.commit(ctx, cl, p, n, first.Offset, meta); err != nil {
			return err
		}
		// The barrier: apply every suppression acknowledged before this
		// attempt, the first included (the records were opened and the
		// commit made since the barrier above).
		if err := e.follower.CatchUp(ctx); err != nil {
			return fmt.Errorf("tables: %w", err)
		}
		b := sinks.Batch{Topic: e.topic, Partition: n, FirstOffset: first.Offset, LastOffset: last.Offset}
		kept := pending[:0:0]
		for _, i := range pending {
			if e.shredded(kids[i]) {
				m.outcome("key_shredded")
				e.settle(p, hashes[i], chunk[i].Timestamp)
				continue
			}
			if drop, reason := e.privacy.drop(&events[i]); drop {
				m.outcome(reason)
				e.settle(p, hashes[i], chunk[i].Timestamp)
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
		failed := pending
		var be *sinks.BatchError
		switch {
		case err == nil:
			failed = nil
		case errors.As(err, &be):
			failed = make([]int, 0, len(be.Failed))
			for _, j := range be.Failed {
				if j >= 0 && j < len(pending) {
					failed = append(failed, pending[j])
				}
			}
		}
		e.delivered(p, chunk, hashes, pending, failed)
		if err == nil {
			break
		}
		class, reason := sinks.Classify(err)
		now := time.Now()
		if meta.cut.since.IsZero() {
			meta.cut.since = now
		}
		deadline := meta.cut.since.Add(e.cfg.RetryHorizon)
		if class == sinks.Permanent || !now.Before(deadline) {
			code := reasonPermanent
			if class != sinks.Permanent {
				code = reasonRetryHorizon
			}
			for _, i := range failed {
				dead = append(dead, deadLetter{rec: chunk[i], plain: plains[i], kid: kids[i], hash: hashes[i], code: code, reason: reason, err: err.Error(), attempts: attempt})
			}
			break
		}
		pending = failed
		m.retries.Inc()
		e.owned.setRetrying(p, true)
		wait := min(backoff(attempt, e.cfg.RetryBase, e.cfg.RetryMax, err), deadline.Sub(now))
		e.log.Warn("delivery failed; retrying", "partition", n, "firstOffset", first.Offset, "lastOffset", last.Offset,
			"attempt", attempt, "failingFor", now.Sub(meta.cut.since).Round(time.Second), "wait", wait.Round(time.Millisecond),
			"reason", reason, "error", err)
		if err := sleep(stop, wait); err != nil {
			return err
		}
	}
	return e.deadLetter(ctx, cl, n, dead)
}

// duplicate reports whether the message hash h was settled on the
// partition within the window or earlier in the same batch; a duplicate
// sighting restarts the window, as a rebuild would replay it.
func (e *Engine) duplicate(p *partition, inChunk map[uint64]bool, h uint64, at time.Time) bool {
	k := e.owned.key(h)
	if inChunk[h] || p.set.Seen(k, at) {
		p.set.Add(k, at)
		return true
	}
	return false
}

// settle remembers a message as settled (delivered, or never deliverable).
func (e *Engine) settle(p *partition, h uint64, at time.Time) { p.set.Add(e.owned.key(h), at) }

// delivered settles the records of pending that are not in failed.
func (e *Engine) delivered(p *partition, chunk []*kgo.Record, hashes []uint64, pending, failed []int) {
	bad := make(map[int]bool, len(failed))
	for _, i := range failed {
		bad[i] = true
	}
	for _, i := range pending {
		if !bad[i] {
			e.settle(p, hashes[i], chunk[i].Timestamp)
		}
	}
	e.metrics.delivered.Add(float64(len(pending) - len(failed)))
}

// deadLetter is a record the destination will never get (its plaintext
// value and the key it was sealed with), and why.
type deadLetter struct {
	rec      *kgo.Record
	plain    []byte
	kid      shred.KeyID
	hash     uint64 // message hash; 0 for an undecodable record without header
	code     string // reasonPermanent, reasonRetryHorizon, reasonUndecodable
	reason   string
	err      string
	attempts int
}

// deadLetter writes records to the dead-letter topic with the destination
// and the last error, sealed under their events' keys, waiting for the
// broker's acknowledgement; headers name the destination, the origin
// offset, the reason and the message hash, readable without the key. A
// record whose key was shredded meanwhile is dropped instead. Each reason
// is logged once, with counts and offsets and no event data.
func (e *Engine) deadLetter(ctx context.Context, cl *kgo.Client, n int32, dead []deadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, 0, len(dead))
	byCode := map[string][]deadLetter{}
	for _, d := range dead {
		v, _ := json.Marshal(topics.DeadLetterValue{Destination: e.cfg.Destination, Reason: d.reason, Error: d.err, Attempts: d.attempts,
			Position: &topics.Position{Topic: d.rec.Topic, Partition: d.rec.Partition, Offset: d.rec.Offset}, Event: string(d.plain)})
		v, ok := e.seal(d.kid, v)
		if !ok {
			e.metrics.outcome("key_shredded")
			continue
		}
		headers := []kgo.RecordHeader{
			{Key: topics.HeaderDestination, Value: []byte(e.cfg.Destination)},
			{Key: topics.HeaderOrigin, Value: topics.Origin(d.rec.Partition, d.rec.Offset)},
			{Key: topics.HeaderReason, Value: []byte(d.code)},
		}
		if h, ok := topics.MessageHashOf(d.rec.Headers); ok || d.hash != 0 {
			if !ok {
				h = d.hash
			}
			headers = append(headers, kgo.RecordHeader{Key: topics.HeaderMessageHash, Value: binary.BigEndian.AppendUint64(nil, h)})
		}
		recs = append(recs, &kgo.Record{Topic: e.dlqTopic, Key: d.rec.Key, Value: v, Headers: headers})
		byCode[d.code] = append(byCode[d.code], d)
	}
	if len(recs) == 0 {
		return nil
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("dead-letter: %w", err)
	}
	e.metrics.outcomeN("deadletter", len(recs))
	for code, ds := range byCode {
		e.metrics.deadLetters.WithLabelValues(code).Add(float64(len(ds)))
		e.log.Warn("events dead-lettered", "reason", code, "detail", ds[0].reason, "count", len(ds),
			"partition", n, "firstOffset", ds[0].rec.Offset, "lastOffset", ds[len(ds)-1].rec.Offset, "attempts", ds[0].attempts)
	}
	return nil
}
