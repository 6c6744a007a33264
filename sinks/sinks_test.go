package sinks

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas"
)

func TestClassify(t *testing.T) {
	exception := func(code chproto.Error) error { return &ch.Exception{Code: int32(code), Message: "m"} }
	for _, tc := range []struct {
		name string
		err  error
		want Class
	}{
		{"closed", fmt.Errorf("x: %w", ErrClosed), Retryable},
		{"plan not ready", fmt.Errorf("x: %w", ErrPlanNotReady), Retryable},
		{"cancelled", context.Canceled, Retryable},
		{"deadline", fmt.Errorf("post: %w", context.DeadlineExceeded), Retryable},
		{"eof", io.ErrUnexpectedEOF, Retryable},
		{"refused", &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, Retryable},
		{"dns", &net.DNSError{Err: "no such host", Name: "x"}, Retryable},
		{"x509", &url.Error{Op: "Post", URL: "https://x", Err: x509.UnknownAuthorityError{}}, Retryable},
		{"429", &StatusError{Code: 429, RetryAfter: time.Second}, Retryable},
		{"503", &StatusError{Code: 503}, Retryable},
		{"408", &StatusError{Code: 408}, Retryable},
		{"400", &StatusError{Code: 400}, Permanent},
		{"301", &StatusError{Code: 301}, Permanent},
		{"schema", fmt.Errorf("w: %w", &SchemaError{Table: "t", Column: "c"}), Permanent},
		{"ch parse", fmt.Errorf("insert: %w", exception(chproto.ErrCannotParseInputAssertionFailed)), Permanent},
		{"ch incorrect data", exception(chproto.ErrIncorrectData), Permanent},
		{"ch missing column", exception(chproto.ErrNoSuchColumnInTable), Permanent},
		{"ch too many parts", exception(chproto.ErrTooManyParts), Retryable},
		{"ch memory", exception(chproto.ErrMemoryLimitExceeded), Retryable},
		{"ch auth", exception(chproto.ErrAuthenticationFailed), Retryable},
		{"ch unknown table", exception(chproto.ErrUnknownTable), Retryable},
		{"ch unknown code", exception(chproto.Error(987654)), Retryable},
		{"ch http exception", &ch.HTTPError{StatusCode: 500, Err: exception(chproto.ErrSyntaxError)}, Permanent},
		{"ch http status", &ch.HTTPError{StatusCode: 502, Err: errors.New("bad gateway")}, Retryable},
		{"ch http 4xx", &ch.HTTPError{StatusCode: 413, Err: errors.New("too large")}, Permanent},
		{"kafka retriable", kerr.NotEnoughReplicas, Retryable},
		{"kafka too large", fmt.Errorf("p: %w", kerr.MessageTooLarge), Permanent},
		{"kafka invalid record", kerr.InvalidRecord, Permanent},
		{"kafka acl", kerr.TopicAuthorizationFailed, Retryable},
		{"kafka fenced", kerr.ProducerFenced, Retryable},
		{"kafka timeout", fmt.Errorf("p: %w", kgo.ErrRecordTimeout), Retryable},
		{"unknown", errors.New("who knows"), Retryable},
		{"batch permanent", &BatchError{Failed: []int{1}, Err: &StatusError{Code: 422}}, Permanent},
		{"joined, one retryable", errors.Join(&SchemaError{}, ErrPlanNotReady), Retryable},
		{"joined, all permanent", errors.Join(&SchemaError{}, &StatusError{Code: 400}), Permanent},
		{"joined with unknown", errors.Join(&SchemaError{}, errors.New("?")), Retryable},
	} {
		c, reason := Classify(tc.err)
		if c != tc.want || reason == "" {
			t.Errorf("%s: Classify(%v) = %s (%q), want %s", tc.name, tc.err, c, reason, tc.want)
		}
	}
	if c, _ := Classify(nil); c != 0 {
		t.Errorf("Classify(nil) = %s", c)
	}
}

func TestRetryAfter(t *testing.T) {
	err := errors.Join(fmt.Errorf("a: %w", &StatusError{Code: 429, RetryAfter: 2 * time.Second}), &StatusError{Code: 503, RetryAfter: 5 * time.Second})
	if got := RetryAfter(err); got != 5*time.Second {
		t.Errorf("RetryAfter = %v", got)
	}
	if got := RetryAfter(errors.New("x")); got != 0 {
		t.Errorf("RetryAfter = %v", got)
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"120": 2 * time.Minute, " 3 ": 3 * time.Second, "0": 0, "-1": 0, "soon": 0, "": 0,
		"Fri, 01 May 2026 12:00:30 GMT": 30 * time.Second, "Fri, 01 May 2026 11:00:00 GMT": 0,
		"99999999": 24 * time.Hour,
	} {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestBatchValidate(t *testing.T) {
	ok := Batch{Topic: "t", FirstOffset: 5, LastOffset: 9, Events: make([]schemas.Event, 2), Offsets: []int64{5, 8}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string]Batch{
		"no topic":     {FirstOffset: 0, LastOffset: 0},
		"range":        {Topic: "t", FirstOffset: 5, LastOffset: 4},
		"lengths":      {Topic: "t", FirstOffset: 0, LastOffset: 3, Events: make([]schemas.Event, 2), Offsets: []int64{1}},
		"order":        {Topic: "t", FirstOffset: 0, LastOffset: 3, Events: make([]schemas.Event, 2), Offsets: []int64{2, 1}},
		"out of range": {Topic: "t", FirstOffset: 0, LastOffset: 3, Events: make([]schemas.Event, 1), Offsets: []int64{4}},
	} {
		if err := b.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, b)
		}
	}
}

func TestToken(t *testing.T) {
	a := OffsetsToken("dest.w", 1, 10, 20, []int64{10, 15, 20})
	if a != OffsetsToken("dest.w", 1, 10, 20, []int64{10, 15, 20}) {
		t.Fatal("token not deterministic")
	}
	for _, other := range []string{
		OffsetsToken("dest.w", 1, 10, 20, []int64{10, 20}),
		OffsetsToken("dest.w", 1, 10, 20, []int64{10, 16, 20}),
		OffsetsToken("dest.w", 2, 10, 20, []int64{10, 15, 20}),
		OffsetsToken("dest.x", 1, 10, 20, []int64{10, 15, 20}),
	} {
		if other == a {
			t.Errorf("distinct batches share the token %s", a)
		}
	}
}

func TestSettings(t *testing.T) {
	r := ReadSettings("d", map[string]any{"s": "x", "n": 3, "f": 2.0, "b": "true", "d": "1m", "ds": 5, "l": []any{"a", "b"}, "c": "a, b,", "m": map[string]any{"k": "v"}})
	if r.String("s", "") != "x" || r.Int("n", 0) != 3 || r.Int("f", 0) != 2 || !r.Bool("b", false) ||
		r.Duration("d", 0) != time.Minute || r.Duration("ds", 0) != 5*time.Second || len(r.Strings("l", nil)) != 2 ||
		len(r.Strings("c", nil)) != 2 || r.StringMap("m")["k"] != "v" || r.String("absent", "def") != "def" {
		t.Fatal("getters disagree")
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	r = ReadSettings("d", map[string]any{"n": "three", "typo": 1})
	r.Int("n", 0)
	if err := r.Err(); err == nil {
		t.Fatal("a bad integer passed")
	}
	r = ReadSettings("d", map[string]any{"typo": 1})
	if err := r.Err(); err == nil {
		t.Fatal("an unknown key passed")
	}
}
