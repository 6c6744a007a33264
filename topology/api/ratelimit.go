package api

import (
	"math"
	"net/netip"
	"sync"
	"time"
)

// limiter caps a source's events per second with a token bucket that may go
// into debt: a request is let through whenever the bucket is not in debt,
// and takes all its events from it. Any batch size can pass (a plain token
// bucket never passes a batch larger than its burst), while the long-run
// rate stays at most rate events per second, bursts at most one second's
// worth plus one request. Retry-After says when the debt is paid.
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
	if wait := l.waitLocked(now); wait > 0 {
		return false, wait
	}
	l.tokens -= float64(n)
	return true, 0
}

// wait is how long from now until the bucket is out of debt: 0 when a
// request would be let through now. It takes nothing.
func (l *limiter) wait(now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waitLocked(now)
}

// spend takes n events at now whether or not the bucket is in debt: for
// work already done, such as input read and refused.
func (l *limiter) spend(n int, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(now)
	l.tokens -= float64(n)
}

func (l *limiter) waitLocked(now time.Time) time.Duration {
	l.refill(now)
	if l.tokens > 0 {
		return 0
	}
	// Wait until the debt is paid and a token is in.
	return time.Duration((1 - l.tokens) / l.rate * float64(time.Second))
}

func (l *limiter) refill(now time.Time) {
	if elapsed := now.Sub(l.last); elapsed > 0 {
		l.tokens = math.Min(burst(l.rate), l.tokens+elapsed.Seconds()*l.rate)
		l.last = now
	}
}

// full reports whether the bucket would be full at now: it remembers
// nothing a new bucket would not.
func (l *limiter) full(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(now)
	return l.tokens >= burst(l.rate)
}

// retryAfterSeconds rounds a wait up to whole seconds, at least 1, the unit
// of the Retry-After header.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// maxTrackedAddrs bounds the addresses addrLimiter remembers.
const maxTrackedAddrs = 1 << 16

// addrLimiter is a limiter per client network: an IPv4 address, or an IPv6
// /64 (what one host is usually given). It remembers at most maxTrackedAddrs
// networks; when full, it forgets those whose buckets have refilled, and if
// none has, an arbitrary one.
type addrLimiter struct {
	rate float64

	mu   sync.Mutex
	nets map[netip.Prefix]*limiter
}

func newAddrLimiter(rate float64) *addrLimiter {
	return &addrLimiter{rate: rate, nets: map[netip.Prefix]*limiter{}}
}

// clientNet is the network a's budget is kept for.
func clientNet(a netip.Addr) netip.Prefix {
	bits := 32
	if !a.Is4() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// wait is how long a's network is still over its budget; 0 when it is not.
func (al *addrLimiter) wait(a netip.Addr, now time.Time) time.Duration {
	al.mu.Lock()
	l := al.nets[clientNet(a)]
	al.mu.Unlock()
	if l == nil {
		return 0
	}
	return l.wait(now)
}

// spend charges one request to a's network.
func (al *addrLimiter) spend(a netip.Addr, now time.Time) {
	p := clientNet(a)
	al.mu.Lock()
	l := al.nets[p]
	if l == nil {
		if len(al.nets) >= maxTrackedAddrs {
			al.forget(now)
		}
		l = newLimiter(al.rate, now)
		al.nets[p] = l
	}
	al.mu.Unlock()
	l.spend(1, now)
}

// forget drops the networks whose buckets are full, or one if none is.
func (al *addrLimiter) forget(now time.Time) {
	for p, l := range al.nets {
		if l.full(now) {
			delete(al.nets, p)
		}
	}
	if len(al.nets) < maxTrackedAddrs {
		return
	}
	for p := range al.nets {
		delete(al.nets, p)
		return
	}
}
