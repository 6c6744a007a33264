package delivery

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// backoff is the wait before retry attempt n (1-based): exponential from
// base, capped at max, with full jitter, and at least what the destination
// asked for with Retry-After.
func backoff(n int, base, max time.Duration, err error) time.Duration {
	d := base << min(n-1, 20)
	if d > max || d <= 0 {
		d = max
	}
	d = time.Duration(rand.Int64N(int64(d)) + 1)
	if ra := sinks.RetryAfter(err); ra > d {
		d = ra
	}
	return d
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
