package regulator

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// Deleting at destinations goes through sinks.Deleter, the optional ability
// of a sink (ClickHouse lightweight deletes, a webhook's deleteUrl, Kafka
// tombstones). One call carries the subjects of a whole batch of
// regulations; a regulator that crashed repeats the call, which the
// interface requires to be idempotent.

// errorClass is how the regulator treats a failed step.
type errorClass int

const (
	classRetry     errorClass = iota // retried with backoff
	classPermanent                   // the step or destination FAILED
	classShutdown                    // the regulator is stopping: not a failure
)

// classify decides once what a step's error means, with the reason beside
// each case.
func classify(ctx context.Context, err error) errorClass {
	if ctx.Err() != nil {
		// Our own context ended: the regulator is stopping, and the step
		// will be repeated by whoever resumes; it is not the step's fault.
		return classShutdown
	}
	// The sinks' one classifier: a destination's 4xx or a statement
	// ClickHouse can never run is permanent; network errors, timeouts,
	// 5xx, 429 and errors nobody recognised are retried, up to MaxAttempts.
	if c, _ := sinks.Classify(err); c == sinks.Permanent {
		return classPermanent
	}
	return classRetry
}

// receiptOf turns a sink's receipt into a regulation's.
func receiptOf(rc sinks.Receipt) Receipt {
	out := Receipt{At: rc.Finished, Statements: rc.Statements, HTTPStatus: rc.HTTPStatus, Records: rc.Tombstones, Detail: rc.Detail}
	if out.At.IsZero() {
		out.At = time.Now().UTC()
	}
	if rc.Topic != "" {
		out.Detail = joinNonEmpty(out.Detail, "tombstones to "+rc.Topic)
	}
	if len(rc.Tables) > 0 {
		var before, after int64
		for _, t := range rc.Tables {
			out.Tables = append(out.Tables, TableRows{Table: t.Table, RowsBefore: int64(t.Before), RowsAfter: int64(t.After)})
			before += int64(t.Before)
			after += int64(t.After)
		}
		out.RowsBefore, out.RowsAfter = &before, &after
	}
	return out
}

func joinNonEmpty(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
