package regulator

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/tables"
	"github.com/sluicehq/sluice/topology/topics"
)

// Run is the regulator role: it carries out the DELETE* regulations this
// regulator owns (see owner) until ctx is done, then returns nil. It acts
// only once the regulations and identities topics are caught up (fail
// closed), and resumes whatever a previous regulator left unfinished. With
// a Keyring it also keeps the keys topic healthy (maintainKeys).
func (s *Service) Run(ctx context.Context) error {
	lk := newLinks(s.cfg.Workspace)
	handlers := map[string]tables.Handler{s.names.Of(topics.Identities): lk.apply}
	var keys *shred.Table
	if s.cfg.Keyring != nil {
		keys = shred.NewTable(s.cfg.Keyring)
		handlers[s.names.Of(topics.Keys)] = func(k, v []byte) {
			if err := keys.Apply(k, v); err != nil {
				s.log.Warn("regulator: a keys-topic record", "err", err)
			}
		}
	}
	follower, err := tables.New(s.cfg.Brokers, handlers, s.cfg.ClientOpts...)
	if err != nil {
		return fmt.Errorf("regulator: %w", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = follower.Run(ctx)
	}()
	own, err := s.newOwner()
	if err != nil {
		return err
	}
	defer own.close()
	s.running.Store(own)
	defer s.running.Store(nil)
	r := &runner{Service: s, links: lk, keys: keys, follower: follower, own: own}

	if !r.retry(ctx, "catch up with the regulations topic", s.store.catchUp) {
		return nil
	}
	wg.Go(func() { r.purgeLoop(ctx) })
	if keys != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.maintainKeys(ctx)
		}()
	}
	s.log.Info("regulator running", "owner group", s.cfg.OwnerGroup)
	failures := 0
	for ctx.Err() == nil {
		changed, reassigned := s.store.changes(), own.changes()
		if err := own.refresh(ctx, s); err != nil {
			s.log.Warn("regulator: reading the regulations topic's partitions", "err", err)
		}
		regs, wake := r.pending(time.Now())
		if len(regs) > 0 {
			if err := r.runBatch(ctx, regs); err != nil && ctx.Err() == nil {
				failures++
				s.log.Warn("regulator: a pass ended early; retrying", "err", err, "regulations", len(regs))
				sleep(ctx, s.cfg.backoff(failures))
			} else {
				failures = 0
			}
			continue
		}
		t := time.NewTimer(wake)
		select {
		case <-ctx.Done():
		case <-changed:
		case <-reassigned:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// runner is one Run's state.
type runner struct {
	*Service
	links *links
	// keys are the data keys (nil: encryption disabled); keysMu keeps the
	// keys step and the maintenance's re-wraps apart in this process.
	keys     *shred.Table
	keysMu   sync.Mutex
	follower *tables.Follower
	own      *owner
}

// retry calls fn until it succeeds or ctx ends; it reports success.
func (r *runner) retry(ctx context.Context, what string, fn func(context.Context) error) bool {
	for n := 1; ; n++ {
		err := fn(ctx)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		r.log.Warn("regulator: cannot "+what+"; retrying", "err", err)
		sleep(ctx, r.cfg.backoff(n))
	}
}

// idleWait is the longest the loop sleeps with nothing due, so that a
// change of partition ownership is noticed.
const idleWait = 5 * time.Second

// pending picks the next batch: owned, unfinished DELETE* regulations that
// are due, oldest first, up to BatchMaxSubjects subjects (at least one
// regulation). wake is how long to sleep when none is due.
func (r *runner) pending(now time.Time) (batch []*Regulation, wake time.Duration) {
	wake = idleWait
	due := r.store.list(func(g *Regulation) bool {
		if g.Workspace != r.cfg.Workspace || !g.Request.RegulationType.Deletes() || g.OverallStatus.Terminal() || !r.own.owns(g.ID) {
			return false
		}
		if g.NextAttemptAt != nil && g.NextAttemptAt.After(now) {
			wake = min(wake, g.NextAttemptAt.Sub(now))
			return false
		}
		return true
	})
	subjects := 0
	for i := len(due) - 1; i >= 0; i-- { // list is newest first
		g := due[i]
		n := len(g.Request.SubjectIDs)
		if len(batch) > 0 && subjects+n > r.cfg.BatchMaxSubjects {
			break
		}
		batch = append(batch, g.clone())
		subjects += n
	}
	return batch, max(wake, time.Millisecond)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
