// Package sinktest is the conformance suite every sink runs: delivery,
// retry after a transient failure, permanent failures classified permanent,
// no duplicate after a re-delivered batch (the crash between write and
// commit), close semantics and, for a sinks.Deleter, erasure.
//
// A sink's test supplies a Harness: how to make a fresh destination, open
// the sink on it, read back what the destination holds, and break it.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// Destination is one fresh destination for one test.
type Destination interface {
	// Open returns a new sink instance on the destination. The suite calls
	// it again to play a process that crashed and restarted; the harness
	// closes every sink it opened when the test ends.
	Open(t *testing.T) sinks.Sink
	// Delivered returns the message id of every event the destination holds,
	// one entry per copy, in any order, as a consumer of the destination
	// that follows the sink's documented contract would see them.
	Delivered(t *testing.T) []string
	// Break makes every write fail with a failure of the given class until
	// Fix: a real outage for Retryable (connection refused, HTTP 503, broker
	// errors) and a real refusal for Permanent (a table changed by hand,
	// HTTP 400, records the brokers reject).
	Break(t *testing.T, class sinks.Class)
	// Fix ends Break.
	Fix(t *testing.T)
}

// Eraser is a Destination whose sink is a sinks.Deleter.
type Eraser interface {
	// Remaining counts what the destination still holds of the request's
	// subjects (rows, live keys, undeleted records).
	Remaining(t *testing.T, req sinks.DeleteRequest) int
}

// Harness describes a sink to the suite.
type Harness struct {
	// New sets up a fresh, empty destination for one test.
	New func(t *testing.T) Destination
	// Reshaped says the sink leaves no duplicate even when a re-delivered
	// batch has other bounds than the first delivery (the engine formed it
	// from different fetches). Sinks whose idempotency rests on the
	// receiver deduplicating by batch token leave it false.
	Reshaped bool
}

// topic is the dest topic the suite's batches claim to come from.
const topic = "sluice.dest.conformance"

// Run runs the conformance suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Run("Limits", func(t *testing.T) { testLimits(t, h) })
	t.Run("Delivery", func(t *testing.T) { testDelivery(t, h) })
	t.Run("EmptyBatch", func(t *testing.T) { testEmpty(t, h) })
	t.Run("ConcurrentPartitions", func(t *testing.T) { testConcurrent(t, h) })
	t.Run("RetryAfterTransientFailure", func(t *testing.T) { testTransient(t, h) })
	t.Run("PermanentFailure", func(t *testing.T) { testPermanent(t, h) })
	t.Run("RedeliveredBatchSameInstance", func(t *testing.T) { testRedeliverSame(t, h) })
	t.Run("CrashBetweenWriteAndCommit", func(t *testing.T) { testCrash(t, h) })
	if h.Reshaped {
		t.Run("CrashThenReshapedRedelivery", func(t *testing.T) { testReshaped(t, h) })
	}
	t.Run("Close", func(t *testing.T) { testClose(t, h) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, h) })
}

func write(t *testing.T, s sinks.Sink, b sinks.Batch) {
	t.Helper()
	if err := s.Write(t.Context(), b); err != nil {
		c, reason := sinks.Classify(err)
		t.Fatalf("Write [%d, %d]: %v (%s: %s)", b.FirstOffset, b.LastOffset, err, c, reason)
	}
}

// wantDelivered checks that the destination holds each of want exactly once.
func wantDelivered(t *testing.T, d Destination, want []string) {
	t.Helper()
	got := d.Delivered(t)
	counts := map[string]int{}
	for _, id := range got {
		counts[id]++
	}
	var missing, doubled []string
	for _, id := range want {
		switch counts[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			doubled = append(doubled, fmt.Sprintf("%s×%d", id, counts[id]))
		}
		delete(counts, id)
	}
	var extra []string
	for id := range counts {
		extra = append(extra, id)
	}
	slices.Sort(extra)
	if len(missing)+len(doubled)+len(extra) > 0 {
		t.Fatalf("destination holds %d events, want %d once each: missing %v, duplicated %v, unexpected %v",
			len(got), len(want), clip(missing), clip(doubled), clip(extra))
	}
}

func clip(s []string) []string {
	if len(s) > 10 {
		return append(s[:10:10], fmt.Sprintf("… %d more", len(s)-10))
	}
	return s
}

func testLimits(t *testing.T, h Harness) {
	s := h.New(t).Open(t)
	if err := s.Limits().Validate(); err != nil {
		t.Fatal(err)
	}
}

func testDelivery(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	events := Events("deliver", 120)
	write(t, s, NewBatch(topic, 0, 0, events[:60]))
	write(t, s, NewBatch(topic, 1, 0, events[60:100]))
	write(t, s, NewBatch(topic, 0, 60, events[100:]))
	wantDelivered(t, d, IDs(events))
}

func testEmpty(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	// The engine dropped every record of this range (suppressed subjects):
	// the sink must accept the batch so the offsets can be committed.
	write(t, s, sinks.Batch{Topic: topic, Partition: 0, FirstOffset: 0, LastOffset: 9})
	events := Events("empty", 5)
	write(t, s, NewBatch(topic, 0, 10, events))
	wantDelivered(t, d, IDs(events))
}

func testConcurrent(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	n := min(max(s.Limits().MaxInFlight, 2), 4)
	events := Events("concurrent", 40*n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for p := range n {
		wg.Go(func() {
			errs[p] = s.Write(t.Context(), NewBatch(topic, int32(p), 100, events[40*p:40*(p+1)]))
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	wantDelivered(t, d, IDs(events))
}

func testTransient(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	events := Events("transient", 50)
	b := NewBatch(topic, 0, 0, events)
	d.Break(t, sinks.Retryable)
	err := s.Write(t.Context(), b)
	if err == nil {
		t.Fatal("Write succeeded against a broken destination")
	}
	if c, reason := sinks.Classify(err); c != sinks.Retryable {
		t.Fatalf("Classify(%v) = %s (%s), want retryable", err, c, reason)
	}
	d.Fix(t)
	write(t, s, b)
	wantDelivered(t, d, IDs(events))
}

func testPermanent(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	events := Events("permanent", 20)
	b := NewBatch(topic, 0, 0, events)
	d.Break(t, sinks.Permanent)
	err := s.Write(t.Context(), b)
	if err == nil {
		t.Fatal("Write succeeded against a destination refusing the events")
	}
	if c, reason := sinks.Classify(err); c != sinks.Permanent {
		t.Fatalf("Classify(%v) = %s (%s), want permanent", err, c, reason)
	}
	var be *sinks.BatchError
	if errors.As(err, &be) {
		for _, i := range be.Failed {
			if i < 0 || i >= len(events) {
				t.Fatalf("BatchError names event %d of %d", i, len(events))
			}
		}
	}
	d.Fix(t)
	// The destination works again: the next batch goes through.
	more := Events("after", 5)
	write(t, s, NewBatch(topic, 0, 20, more))
}

func testRedeliverSame(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	events := Events("again", 30)
	b := NewBatch(topic, 2, 500, events)
	write(t, s, b)
	// The offset commit failed: the engine hands the same batch again.
	write(t, s, b)
	wantDelivered(t, d, IDs(events))
}

func testCrash(t *testing.T, h Harness) {
	d := h.New(t)
	events := Events("crash", 40)
	first := d.Open(t)
	write(t, first, NewBatch(topic, 0, 0, events[:20]))
	b := NewBatch(topic, 0, 20, events[20:])
	write(t, first, b)
	// The process dies before committing offset 40; it never closes the sink.
	// Its successor resumes from the last commit (offset 20).
	second := d.Open(t)
	write(t, second, b)
	wantDelivered(t, d, IDs(events))
}

func testReshaped(t *testing.T, h Harness) {
	d := h.New(t)
	events := Events("reshaped", 90)
	b := NewBatch(topic, 1, 1000, events)
	first := d.Open(t)
	write(t, first, Slice(b, 0, 60))
	// Crash before the commit; the successor's fetches cut the range
	// elsewhere, and the last batch reaches past what was delivered.
	second := d.Open(t)
	write(t, second, Slice(b, 0, 25))
	write(t, second, Slice(b, 25, 90))
	wantDelivered(t, d, IDs(events))
}

func testClose(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	events := Events("close", 30)
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { werr = s.Write(t.Context(), NewBatch(topic, 0, 0, events)) })
	time.Sleep(time.Millisecond)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// Close waited for the Write in flight: it has returned by now.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Close returned before the Write in flight did")
	}
	if werr != nil {
		if c, _ := sinks.Classify(werr); c != sinks.Retryable {
			t.Fatalf("Write racing Close: %v classified %s, want nil or retryable", werr, c)
		}
	} else {
		wantDelivered(t, d, IDs(events))
	}
	err := s.Write(t.Context(), NewBatch(topic, 0, 30, Events("late", 1)))
	if !errors.Is(err, sinks.ErrClosed) {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if c, _ := sinks.Classify(err); c != sinks.Retryable {
		t.Fatalf("ErrClosed classified %s, want retryable", c)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testDelete(t *testing.T, h Harness) {
	d := h.New(t)
	s := d.Open(t)
	del, ok := s.(sinks.Deleter)
	if !ok {
		t.Skip("the sink is not a Deleter")
	}
	eraser, ok := d.(Eraser)
	if !ok {
		t.Fatal("the sink is a Deleter but the harness cannot count what remains (implement sinktest.Eraser)")
	}
	events := Events("delete", 70)
	write(t, s, NewBatch(topic, 0, 0, events))
	// user-1 by user id, and user-2's anonymous id.
	req := sinks.DeleteRequest{Workspace: Workspace, UserIDs: []string{"user-1"}, AnonymousIDs: []string{"anon-2"}}
	if n := eraser.Remaining(t, req); n == 0 {
		t.Fatal("nothing of the subjects was delivered: the test proves nothing")
	}
	if _, err := del.Delete(t.Context(), req); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if n := eraser.Remaining(t, req); n != 0 {
		t.Fatalf("after Delete the destination still holds %d of the subjects' records", n)
	}
	// Deleting again is a no-op, not an error.
	if _, err := del.Delete(t.Context(), req); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
	if _, err := del.Delete(t.Context(), sinks.DeleteRequest{Workspace: Workspace}); err == nil {
		t.Fatal("Delete of no subjects succeeded, want an error")
	}
}
