package shred

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Writer writes keys-topic records and returns nil only once the broker has
// acknowledged every one from all in-sync replicas.
type Writer func(ctx context.Context, recs []Record) error

// Creator gives subjects data keys: the api's side of the table. A subject
// without a live key gets a new one, written to the keys topic (Writer)
// before Ensure returns, so no envelope is ever sealed under a key the
// topic does not hold. Concurrent Ensure calls of one process create one
// key per subject; other processes may create their own (see the package
// doc: every one of them is valid). Safe for concurrent use.
type Creator struct {
	table *Table
	write Writer
	now   func() time.Time

	mu      sync.Mutex
	pending map[Subject]*creation
}

// creation is one key being written.
type creation struct {
	id   KeyID
	done chan struct{}
	err  error
}

// NewCreator returns a Creator adding to table (which a follower of the keys
// topic keeps applying) and writing new keys through write.
func NewCreator(table *Table, write Writer) *Creator {
	return &Creator{table: table, write: write, now: time.Now, pending: map[Subject]*creation{}}
}

// Table is the table the creator adds to.
func (c *Creator) Table() *Table { return c.table }

// Ensure sets ids[i] to a live key of subjects[i], creating and writing the
// keys of subjects that have none, in one Writer call. It waits for the
// table to be ready, and for keys other calls are creating. On error no id
// is valid; the keys written before the error stay (unused, harmless).
func (c *Creator) Ensure(ctx context.Context, subjects []Subject, ids []KeyID) error {
	if err := c.table.WaitReady(ctx); err != nil {
		return err
	}
	missing := c.table.currentAll(subjects, ids, nil)
	if len(missing) == 0 {
		return nil // the common case: no lock but the table's read lock
	}
	var mine []Subject
	var mineCalls []*creation
	waits := map[int]*creation{}
	c.mu.Lock()
	for _, i := range missing {
		s := subjects[i]
		if id, ok := c.table.Current(s); ok { // created meanwhile
			ids[i] = id
			continue
		}
		cr, ok := c.pending[s]
		if !ok {
			cr = &creation{id: NewKeyID(), done: make(chan struct{})}
			c.pending[s] = cr
			mine = append(mine, s)
			mineCalls = append(mineCalls, cr)
		}
		waits[i] = cr
	}
	c.mu.Unlock()

	if len(mine) > 0 {
		c.create(ctx, mine, mineCalls)
	}
	for i, cr := range waits {
		select {
		case <-cr.done:
		case <-ctx.Done():
			return fmt.Errorf("shred: waiting for a data key: %w", context.Cause(ctx))
		}
		if cr.err != nil {
			return cr.err
		}
		ids[i] = cr.id
	}
	return nil
}

// create writes new keys for subjects and settles their creations.
func (c *Creator) create(ctx context.Context, subjects []Subject, calls []*creation) {
	deks := make([]DEK, len(subjects))
	recs := make([]Record, len(subjects))
	at := c.now()
	for i, s := range subjects {
		deks[i] = NewDEK()
		recs[i] = c.table.keyring.WrapRecord(s, calls[i].id, &deks[i], at)
	}
	err := c.write(ctx, recs)
	if err != nil {
		err = fmt.Errorf("shred: writing %d data keys: %w", len(recs), err)
	} else {
		// Live at once: the follower applies the same records later, which
		// changes nothing (same id, same data key).
		c.table.mu.Lock()
		for i, s := range subjects {
			if _, dead := c.table.dead[calls[i].id]; !dead {
				c.table.put(s, calls[i].id, deks[i], c.table.keyring.Current())
			}
		}
		c.table.mu.Unlock()
	}
	c.mu.Lock()
	for i, s := range subjects {
		delete(c.pending, s)
		calls[i].err = err
		close(calls[i].done)
	}
	c.mu.Unlock()
}

// SealFor appends the envelope of plaintext under a live key of subject s to
// dst, creating the key when s has none (Ensure).
func (c *Creator) SealFor(ctx context.Context, dst []byte, s Subject, plaintext []byte) ([]byte, error) {
	var id [1]KeyID
	if err := c.Ensure(ctx, []Subject{s}, id[:]); err != nil {
		return nil, err
	}
	return c.table.Seal(dst, id[0], plaintext)
}
