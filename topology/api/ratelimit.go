package api

import (
	"math"
	"sync"
	"time"
)

// limiter caps a source's accepted events per second with a token bucket
// that may go into debt: a request is let through whenever the bucket is not
// in debt, and takes all its events from it. Any batch size can pass (a
// plain token bucket never passes a batch larger than its burst), while the
// long-run rate stays at most rate events per second, bursts at most one
// second's worth plus one request. Retry-After says when the debt is paid.
type limiter struct {
	rate float64 // events per second, > 0

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, now time.Time) *limiter {
	return &limiter{rate: rate, tokens: burst(rate), last: now}
}

// burst is the bucket's size: one second of events, at least one event.
func burst(rate float64) float64 { return math.Max(rate, 1) }

// take admits n events at now, or returns how long until the bucket is out
// of debt.
func (l *limiter) take(n int, now time.Time) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = math.Min(burst(l.rate), l.tokens+elapsed.Seconds()*l.rate)
		l.last = now
	}
	if l.tokens <= 0 {
		// Wait until the debt is paid and a token is in.
		wait := (1 - l.tokens) / l.rate
		return false, time.Duration(wait * float64(time.Second))
	}
	l.tokens -= float64(n)
	return true, 0
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, the unit
// of the Retry-After header.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}
