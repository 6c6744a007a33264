package suppress

import (
	"errors"
	"sync/atomic"
)

// ErrNotReady is returned by lookups on a table that has not caught up to its
// topic yet. Callers must treat it as "suppressed".
var ErrNotReady = errors.New("suppress: table not caught up")

// readiness is the caught-up flag a table's loader sets once.
type readiness struct{ ok atomic.Bool }

// MarkCaughtUp records that every record up to the end offsets read at start
// has been applied; lookups answer from then on. The loader calls it once.
func (r *readiness) MarkCaughtUp() { r.ok.Store(true) }

// Ready reports whether MarkCaughtUp has been called.
func (r *readiness) Ready() bool { return r.ok.Load() }
