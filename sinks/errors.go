package sinks

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrClosed is wrapped by the error of a Write or Delete on a closed sink.
var ErrClosed = errors.New("sink closed")

// ErrPlanNotReady is wrapped by the error of events whose tracking-plan
// version the sink does not know yet (its plan table has not caught up).
var ErrPlanNotReady = errors.New("tracking-plan version not known yet")

// BatchError is a partial failure: the events at Failed (indexes into
// Batch.Events, ascending) were not delivered, for the reason Err; every
// other event of the batch was. Classify classifies it by Err.
type BatchError struct {
	Failed []int
	Err    error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d events not delivered: %v", len(e.Failed), e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// StatusError is an HTTP answer other than 2xx from a destination.
type StatusError struct {
	// Code is the HTTP status code.
	Code int
	// RetryAfter is the wait the Retry-After header asked for; 0 if none.
	RetryAfter time.Duration
	// Body is the start of the response body, for people.
	Body string
}

func (e *StatusError) Error() string {
	s := "HTTP " + strconv.Itoa(e.Code) + " " + http.StatusText(e.Code)
	if e.RetryAfter > 0 {
		s += " (retry after " + e.RetryAfter.String() + ")"
	}
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// ParseRetryAfter reads a Retry-After header value: delay-seconds or an
// HTTP date, relative to now. It returns 0 for an empty, past or bad value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// SchemaError is an event a typed table cannot take without an incompatible
// change to one of its columns. sluice refuses such changes instead of
// rewriting analysts' tables.
type SchemaError struct {
	// Table and Column name the column at odds.
	Table, Column string
	// Have is the column's type, Want the type the event's schema maps to.
	Have, Want string
	// Schema names the plan, plan version and event version asking.
	Schema string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("table %s: column %s is %s but %s maps it to %s: refusing an incompatible column change "+
		"(publish the change under a new event name, or migrate the column by hand)", e.Table, e.Column, e.Have, e.Schema, e.Want)
}

// RetryAfter returns the longest wait a destination asked for anywhere in
// err's tree (Retry-After on a 429 or 503), or 0. The caller should wait at
// least that long before the next attempt.
func RetryAfter(err error) time.Duration {
	var longest time.Duration
	walk(err, func(e error) {
		if se, ok := e.(*StatusError); ok && se.RetryAfter > longest {
			longest = se.RetryAfter
		}
	})
	return longest
}

// walk calls f on err and everything it wraps, depth first.
func walk(err error, f func(error)) {
	if err == nil {
		return
	}
	f(err)
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, f)
		}
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), f)
	}
}
