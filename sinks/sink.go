// Package sinks is the contract between sluice's delivery engine and the
// places events are delivered to (ClickHouse, webhooks, Kafka topics).
//
// The engine (in topology) consumes dest.<name> with one consumer group per
// destination, forms batches of one partition's records within the sink's
// Limits, re-checks suppression and consent, and calls Write. It commits the
// batch's offsets only after Write returns nil (or after the failed events
// went to the dead-letter topic). A sink does not buffer: when Write returns
// nil every event of the batch is durably accepted by the destination.
//
// # Errors
//
// Write returns nil, a *BatchError naming the events that failed (the others
// were delivered), or an error for the whole batch. Classify decides whether
// a failure is worth retrying; RetryAfter says how long the destination asked
// the caller to wait. Classify is the only place that decides it. What the
// engine does:
//
//	err == nil                      commit LastOffset+1
//	Classify(err) == Permanent      dead-letter the failed events (all, or
//	                                BatchError.Failed) with the reason, commit
//	Classify(err) == Retryable      wait max(backoff, RetryAfter(err)), then
//	                                Write again: the same batch, or only the
//	                                BatchError.Failed events (same offsets);
//	                                dead-letter after the attempt/age limit
//
// A retried batch may be smaller than the first attempt but its events keep
// their offsets; sinks derive tokens from the offsets actually written.
//
// # Idempotency
//
// Delivery is at-least-once: a crash between Write and the offset commit
// re-delivers the batch. Every sink turns the batch's topic, partition and
// offsets into an idempotency token (see Batch.Token) so that a re-delivered
// batch leaves no duplicate; the sink documents what it guarantees when the
// re-delivered batch has other bounds than the first.
//
// # Optional abilities
//
// A sink that can erase a data subject implements Deleter; the regulator
// finds out with a type assertion.
package sinks

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/schemas"
)

// Sink delivers batches of events to one destination. A Sink is safe for
// concurrent use by up to Limits().MaxInFlight Writes of different
// partitions; Writes of one partition must come one at a time, in offset
// order, as the engine's per-partition ordering already requires.
type Sink interface {
	// Write delivers every event of b and returns nil once the destination
	// has durably accepted all of them. On failure it returns a *BatchError
	// naming the events that were not delivered (the others were), or any
	// other error for the whole batch; Classify says whether to retry. Write
	// does not retry by itself beyond the destination client's own resends,
	// and it honours ctx: a cancelled Write may or may not have delivered.
	Write(ctx context.Context, b Batch) error
	// Limits is how the engine must batch for this sink. It is fixed for
	// the life of the Sink.
	Limits() Limits
	// Close waits for Writes in flight to return (until ctx ends), then
	// releases the sink's connections. Writes after Close fail with an error
	// wrapping ErrClosed. Close is idempotent.
	Close(ctx context.Context) error
}

// Limits is how a sink wants its batches: the engine hands Write a batch as
// soon as any of MaxEvents, MaxBytes or MaxWait is reached, and never has
// more than MaxInFlight Writes outstanding on the sink.
type Limits struct {
	// MaxEvents is the most events in one batch.
	MaxEvents int
	// MaxBytes is the most bytes in one batch, counted as the sum of the
	// lengths of the routed record values (schemas.Event.AppendRaw).
	MaxBytes int
	// MaxWait is how long the oldest event of a batch may wait for more.
	MaxWait time.Duration
	// MaxInFlight is the most concurrent Writes, each of a different
	// partition.
	MaxInFlight int
}

// Validate names the first limit that is not positive.
func (l Limits) Validate() error {
	switch {
	case l.MaxEvents <= 0:
		return fmt.Errorf("sinks: Limits.MaxEvents %d: must be positive", l.MaxEvents)
	case l.MaxBytes <= 0:
		return fmt.Errorf("sinks: Limits.MaxBytes %d: must be positive", l.MaxBytes)
	case l.MaxWait <= 0:
		return fmt.Errorf("sinks: Limits.MaxWait %v: must be positive", l.MaxWait)
	case l.MaxInFlight <= 0:
		return fmt.Errorf("sinks: Limits.MaxInFlight %d: must be positive", l.MaxInFlight)
	}
	return nil
}

// Batch is events of one partition of a dest.<name> topic, in offset order.
// The engine may leave out records it dropped (suppressed subjects, refused
// consent, undecodable values), so offsets need not be contiguous, but a
// re-delivered batch must carry the same offsets for the same events.
type Batch struct {
	// Topic and Partition are where the events were consumed from.
	Topic     string
	Partition int32
	// FirstOffset and LastOffset bound the records the batch covers,
	// dropped records included: committing LastOffset+1 acknowledges them.
	FirstOffset, LastOffset int64
	// Events are the events to deliver. Their raw fields may alias the
	// consumed records: a sink must not keep them after Write returns.
	Events []schemas.Event
	// Offsets[i] is the offset of the record Events[i] was decoded from:
	// ascending, within [FirstOffset, LastOffset].
	Offsets []int64
}

// Validate reports the first inconsistency between the batch's fields.
func (b Batch) Validate() error {
	switch {
	case b.Topic == "":
		return errors.New("sinks: Batch.Topic is empty")
	case b.Partition < 0:
		return fmt.Errorf("sinks: Batch.Partition %d is negative", b.Partition)
	case b.FirstOffset < 0 || b.LastOffset < b.FirstOffset:
		return fmt.Errorf("sinks: Batch offsets [%d, %d] are not a range", b.FirstOffset, b.LastOffset)
	case len(b.Offsets) != len(b.Events):
		return fmt.Errorf("sinks: Batch has %d events and %d offsets", len(b.Events), len(b.Offsets))
	}
	prev := b.FirstOffset - 1
	for i, o := range b.Offsets {
		if o <= prev || o > b.LastOffset {
			return fmt.Errorf("sinks: Batch.Offsets[%d] = %d: not ascending within [%d, %d]", i, o, b.FirstOffset, b.LastOffset)
		}
		prev = o
	}
	return nil
}

// Token is the batch's idempotency token: the topic, partition and offset
// range, the event count and a hash of the offsets, so a batch re-delivered
// with the same events yields the same token and any other batch (a subset
// retried after a partial failure, say) a different one.
func (b Batch) Token() string {
	return OffsetsToken(b.Topic, b.Partition, b.FirstOffset, b.LastOffset, b.Offsets)
}

// OffsetsToken is Batch.Token for a subset of a batch's events, e.g. the rows
// of one table: "topic/partition/first-last/count/hash".
func OffsetsToken(topic string, partition int32, first, last int64, offsets []int64) string {
	h := fnv.New64a()
	var buf [8]byte
	for _, o := range offsets {
		for i := range buf {
			buf[i] = byte(o >> (8 * i))
		}
		h.Write(buf[:])
	}
	b := make([]byte, 0, len(topic)+64)
	b = append(b, topic...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(partition), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, first, 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, last, 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(len(offsets)), 10)
	b = append(b, '/')
	b = strconv.AppendUint(b, h.Sum64(), 16)
	return string(b)
}

// Deleter is a sink that can erase a data subject from its destination.
type Deleter interface {
	// Delete erases every record of the request's subjects that the sink
	// delivered, or asks the destination to, and returns what it did. It is
	// idempotent: running it again after a failure or a success is safe.
	Delete(ctx context.Context, req DeleteRequest) (Receipt, error)
}

// DeleteRequest names the subjects to erase within one workspace. At least
// one id is given; the regulator batches up to 5,000 subjects per request.
type DeleteRequest struct {
	Workspace    string
	UserIDs      []string
	AnonymousIDs []string
}

// Validate reports a request without workspace or ids.
func (r DeleteRequest) Validate() error {
	if r.Workspace == "" {
		return errors.New("sinks: DeleteRequest.Workspace is empty")
	}
	if len(r.UserIDs)+len(r.AnonymousIDs) == 0 {
		return errors.New("sinks: DeleteRequest names no user or anonymous id")
	}
	return nil
}

// Receipt is what a Delete did, for the regulation's per-destination status.
// Each sink fills the parts that apply to it.
type Receipt struct {
	// Tables lists, per table, the subject's rows before and after (a
	// warehouse); After is 0 when the delete is verified.
	Tables []TableCount `json:"tables,omitempty"`
	// Statements are the statements run, in order, with ids elided to a count.
	Statements []string `json:"statements,omitempty"`
	// Tombstones is how many tombstone records were produced, to Topic.
	Tombstones int    `json:"tombstones,omitempty"`
	Topic      string `json:"topic,omitempty"`
	// HTTPStatus is the answer of a forwarded deletion request.
	HTTPStatus int `json:"httpStatus,omitempty"`
	// Detail is a short note for people (what the destination answered).
	Detail string `json:"detail,omitempty"`
	// Finished is when the sink saw the deletion complete.
	Finished time.Time `json:"finished"`
}

// TableCount is one table's rows of the subjects before and after a delete.
type TableCount struct {
	Table  string `json:"table"`
	Before uint64 `json:"before"`
	After  uint64 `json:"after"`
}
