package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"
)

// ErrNotReady is returned by merges on a Store that has not caught up to the
// profiles topic: merging onto a profile not yet read would lose its traits.
var ErrNotReady = errors.New("profiles: store not caught up")

const shards = 64

// userKey is a 96-bit fingerprint of a profiles-topic key; see the consent
// store for why a collision is accepted at that width.
type userKey struct {
	h uint64
	c uint32
}

type shard struct {
	mu        sync.Mutex
	committed map[userKey][]byte // merged traits
	pending   map[userKey][]byte // merged in the open transaction
	_         [64]byte
}

// Store holds every user's merged traits, committed and pending. Apply,
// Identify, Commit and Abort may be called concurrently. The zero value is
// not usable; call NewStore.
type Store struct {
	seed1, seed2 maphash.Seed
	ready        atomic.Bool
	n            atomic.Int64
	shards       [shards]shard
}

// NewStore returns an empty, not-ready Store.
func NewStore() *Store {
	s := &Store{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
	for i := range s.shards {
		s.shards[i].committed = map[userKey][]byte{}
		s.shards[i].pending = map[userKey][]byte{}
	}
	return s
}

// MarkCaughtUp records that every record up to the end offsets read at start
// has been applied; Identify merges from then on.
func (s *Store) MarkCaughtUp() { s.ready.Store(true) }

// Ready reports whether MarkCaughtUp has been called.
func (s *Store) Ready() bool { return s.ready.Load() }

// Len returns the number of committed profiles.
func (s *Store) Len() int { return int(s.n.Load()) }

func (s *Store) key(b []byte) (userKey, *shard) {
	k := userKey{h: maphash.Bytes(s.seed1, b), c: uint32(maphash.Bytes(s.seed2, b))}
	return k, &s.shards[k.h%shards]
}

// Apply applies one committed profiles-topic record: a value replaces the
// user's traits, a tombstone deletes them. A value whose traits cannot be
// read deletes them too, and is reported: merging onto traits that cannot be
// read would publish a profile missing them silently. A bad key changes
// nothing. Apply reads only the traits (the first member of what Encode
// writes), not the whole value: it runs for every record the router
// produces, behind the barrier of every batch.
func (s *Store) Apply(key, value []byte) error {
	if !validKey(key) {
		return fmt.Errorf("%w: %q: want <workspace>/<userId>", ErrBadKey, key)
	}
	var traits []byte
	var err error
	if value != nil {
		if t := gjson.GetBytes(value, "traits"); t.IsObject() {
			traits = []byte(t.Raw)
		} else {
			err = errors.New("profiles: traits: want a JSON object")
		}
	}
	k, sh := s.key(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	_, had := sh.committed[k]
	switch {
	case traits == nil && had:
		delete(sh.committed, k)
		s.n.Add(-1)
	case traits != nil:
		if !had {
			s.n.Add(1)
		}
		sh.committed[k] = traits
	}
	return err
}

// Identify merges an identify call's traits into the user's profile in the
// open transaction and returns the profiles-topic record to produce with it.
func (s *Store) Identify(workspace, userID string, traits json.RawMessage, at time.Time, source string) (key, value []byte, err error) {
	if !s.Ready() {
		return nil, nil, ErrNotReady
	}
	key = Key(workspace, userID)
	if !validKey(key) {
		return nil, nil, fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	k, sh := s.key(key)
	sh.mu.Lock()
	stored, ok := sh.pending[k]
	if !ok {
		stored = sh.committed[k]
	}
	merged := Merge(stored, traits)
	sh.pending[k] = merged
	sh.mu.Unlock()
	return key, appendProfile(make([]byte, 0, len(merged)+80), merged, at, source), nil
}

// Commit makes the open transaction's profiles committed.
func (s *Store) Commit() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for k, v := range sh.pending {
			if _, had := sh.committed[k]; !had {
				s.n.Add(1)
			}
			sh.committed[k] = v
		}
		clear(sh.pending)
		sh.mu.Unlock()
	}
}

// Abort forgets the open transaction's profiles.
func (s *Store) Abort() {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		clear(sh.pending)
		sh.mu.Unlock()
	}
}
