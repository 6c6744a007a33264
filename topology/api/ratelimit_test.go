package api

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(10, t0)
	// A full bucket lets a batch bigger than the bucket through, into debt.
	if ok, _ := l.take(100, t0); !ok {
		t.Fatal("first batch refused")
	}
	// In debt by 90 events: refused until 9.1s later (debt paid, one token in).
	ok, wait := l.take(1, t0)
	if ok || wait != 9100*time.Millisecond {
		t.Fatalf("in debt: ok=%v wait=%v, want refused for 9.1s", ok, wait)
	}
	if ok, _ := l.take(1, t0.Add(9*time.Second)); ok {
		t.Fatal("admitted before the debt was paid")
	}
	if ok, _ := l.take(1, t0.Add(9200*time.Millisecond)); !ok {
		t.Fatal("refused after the debt was paid")
	}
	// Idle time fills the bucket to one second's worth, no more.
	l = newLimiter(10, t0)
	l.take(10, t0)
	if ok, _ := l.take(10, t0.Add(time.Hour)); !ok {
		t.Fatal("refused after an hour idle")
	}
	if ok, _ := l.take(1, t0.Add(time.Hour)); ok {
		t.Fatal("the bucket held more than one second of events")
	}
	// Over a long run the admitted rate is the configured rate.
	l = newLimiter(50, t0)
	admitted := 0
	for ms := 0; ms < 60_000; ms++ {
		if ok, _ := l.take(1, t0.Add(time.Duration(ms)*time.Millisecond)); ok {
			admitted++
		}
	}
	if admitted < 50*60 || admitted > 50*61 {
		t.Errorf("admitted %d events in 60s at 50/s", admitted)
	}
	if retryAfterSeconds(1) != 1 || retryAfterSeconds(1500*time.Millisecond) != 2 {
		t.Error("Retry-After rounding")
	}
}

// TestRateLimitPerSource: the "slow" source (1 event/s) gets 429 with a
// Retry-After once over its rate; another source is not affected.
func TestRateLimitPerSource(t *testing.T) {
	e := newEnv(t)
	batch := []byte(`{"batch":[` + strings.Repeat(`{"type":"track","userId":"u","event":"e"},`, 9) + `{"type":"track","userId":"u","event":"e"}]}`)
	if r := e.post("/v1/batch", slowKey, batch); r.status != 200 {
		t.Fatalf("first batch: %d %s", r.status, r.raw)
	}
	r := e.post("/v1/batch", slowKey, batch)
	if r.status != 429 || r.body["code"] != codeRateLimited {
		t.Fatalf("second batch: %d %s", r.status, r.raw)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 10 {
		t.Errorf("Retry-After %q, want 1..10 seconds", r.header.Get("Retry-After"))
	}
	if r.header.Get("X-RateLimit-Reset") != r.header.Get("Retry-After") {
		t.Errorf("X-RateLimit-Reset %q", r.header.Get("X-RateLimit-Reset"))
	}
	if r := e.post("/v1/batch", webKey, batch); r.status != 200 {
		t.Errorf("unlimited source: %d %s", r.status, r.raw)
	}
	if got := e.metric("sluice_api_requests_total", map[string]string{"route": "batch", "code": "429"}); got != 1 {
		t.Errorf("requests{code=429} = %v", got)
	}
}
