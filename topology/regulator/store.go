package regulator

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/tables"
)

// store keeps every regulation of the compacted regulations topic in memory,
// following the topic, and writes regulations to it. The latest revision of
// a regulation wins, whether it came from the topic or from a local write.
type store struct {
	topic    string
	prod     *kgo.Client
	follower *tables.Follower
	log      *slog.Logger
	erased   func(id, detail string) // Config.Erased; nil: only logged

	mu      sync.RWMutex
	regs    map[string]*Regulation // read-only once stored: writers clone
	changed chan struct{}          // closed and replaced on every change
}

func newStore(topic string, prod *kgo.Client, seeds []string, opts []kgo.Opt, log *slog.Logger) (*store, error) {
	s := &store{topic: topic, prod: prod, log: log, regs: map[string]*Regulation{}, changed: make(chan struct{})}
	f, err := tables.New(seeds, map[string]tables.Handler{topic: s.apply}, opts...)
	if err != nil {
		return nil, fmt.Errorf("regulator: %w", err)
	}
	s.follower = f
	return s, nil
}

// apply is the follower's handler: one record of the regulations topic.
func (s *store) apply(key, value []byte) {
	if value == nil {
		s.mu.Lock()
		delete(s.regs, string(key))
		s.signal()
		s.mu.Unlock()
		// No sluice writer tombstones a regulation: someone erased it.
		s.log.Error("regulator: a tombstone erased a regulation from the regulations topic", "id", string(key))
		s.reportErased(string(key), "tombstone on "+s.topic)
		return
	}
	var r Regulation
	if err := json.Unmarshal(value, &r); err != nil || r.ID != string(key) {
		// A record this version cannot read is left alone (and logged), so
		// that a newer writer's records survive an older reader; compaction
		// keeps it instead of the regulation, so it is reported too.
		s.log.Warn("regulator: unreadable regulations record", "key", string(key), "err", err)
		detail := "a record sluice cannot read on " + s.topic
		if err != nil {
			detail += ": " + err.Error()
		}
		s.reportErased(string(key), detail)
		return
	}
	s.keep(&r)
}

// reportErased tells Config.Erased, when set.
func (s *store) reportErased(id, detail string) {
	if s.erased != nil {
		s.erased(id, detail)
	}
}

// keep stores r unless a later revision is already stored.
func (s *store) keep(r *Regulation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.regs[r.ID]; ok && old.Revision > r.Revision {
		return
	}
	s.regs[r.ID] = r
	s.signal()
}

// signal wakes whoever waits on changes; s.mu is held.
func (s *store) signal() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// changes returns a channel closed at the next change.
func (s *store) changes() <-chan struct{} {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.changed
}

// put writes r as its next revision and returns once the broker has it
// (acks from all in-sync replicas). r must not be shared with readers.
func (s *store) put(ctx context.Context, r *Regulation) error {
	r.Revision++
	r.UpdatedAt = time.Now().UTC()
	value, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("regulator: encode regulation %s: %w", r.ID, err)
	}
	if err := s.prod.ProduceSync(ctx, &kgo.Record{Topic: s.topic, Key: []byte(r.ID), Value: value}).FirstErr(); err != nil {
		r.Revision--
		return fmt.Errorf("regulator: write regulation %s: %w", r.ID, err)
	}
	s.keep(r.clone())
	return nil
}

// get returns the stored regulation; the caller must not change it.
func (s *store) get(id string) (*Regulation, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.regs[id]
	return r, ok
}

// list returns the stored regulations for which keep holds, newest first.
func (s *store) list(keep func(*Regulation) bool) []*Regulation {
	s.mu.RLock()
	out := make([]*Regulation, 0, len(s.regs))
	for _, r := range s.regs {
		if keep(r) {
			out = append(out, r)
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *Regulation) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// catchUp waits until every regulation written before the call is stored.
func (s *store) catchUp(ctx context.Context) error { return s.follower.CatchUp(ctx) }
