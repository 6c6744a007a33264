package consent

import (
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// ErrNotReady is returned by lookups on a Store that has not caught up to
// the consent topic yet.
var ErrNotReady = errors.New("consent: store not caught up")

const storeShards = 64

// subjectKey is a 96-bit fingerprint of <workspace>/<type>/<id>. Two
// subjects sharing one would share consent; at 2^-96 per pair that is
// accepted, and the tables are rebuilt with fresh seeds at every start.
type subjectKey struct {
	h uint64
	c uint32
}

// stored is one subject's last known consent, pointer-free so the maps are
// not scanned by the garbage collector.
type stored struct {
	granted Mask
	at      int64 // capturedAt, Unix nanoseconds; 0 if unknown
}

type storeShard struct {
	mu sync.RWMutex
	m  map[subjectKey]stored
	_  [64]byte
}

// Store holds each subject's last known consent as a mask of the workspace's
// categories, following the compacted consent topic. Apply and Lookup may be
// called concurrently. The zero value is not usable; call NewStore.
type Store struct {
	cats         *Categories
	seed1, seed2 maphash.Seed
	ready        atomic.Bool
	n            atomic.Int64
	shards       [storeShards]storeShard
	links        links
}

// NewStore returns an empty, not-ready Store masking preferences with cats.
// A change of categories needs a new Store, reloaded from the topic.
func NewStore(cats *Categories) *Store {
	s := &Store{cats: cats, seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(), links: newLinks()}
	for i := range s.shards {
		s.shards[i].m = map[subjectKey]stored{}
	}
	return s
}

// MarkCaughtUp records that every record up to the end offsets read at start
// has been applied; Lookup answers from then on.
func (s *Store) MarkCaughtUp() { s.ready.Store(true) }

// Ready reports whether MarkCaughtUp has been called.
func (s *Store) Ready() bool { return s.ready.Load() }

// Len returns the number of subjects with stored consent.
func (s *Store) Len() int { return int(s.n.Load()) }

func (s *Store) key(b []byte) subjectKey {
	return subjectKey{h: maphash.Bytes(s.seed1, b), c: uint32(maphash.Bytes(s.seed2, b))}
}

func (s *Store) subject(workspace string, typ SubjectType, id string) subjectKey {
	var sb [160]byte
	buf := append(sb[:0], workspace...)
	buf = append(buf, '/')
	buf = append(buf, typ...)
	buf = append(buf, '/')
	buf = append(buf, id...)
	return s.key(buf)
}

func (s *Store) shard(k subjectKey) *storeShard { return &s.shards[k.h%storeShards] }

// Apply applies one consent-topic record: a value replaces the subject's
// consent, a nil value (tombstone) forgets it. A value that cannot be read
// is stored as consent granting nothing, and reported: the user's last word
// is unknown, so the old consent must not keep granting. A bad key is
// ErrBadKey and changes nothing.
func (s *Store) Apply(key, value []byte) error {
	if !validKey(key) {
		return fmt.Errorf("%w: %q: want <workspace>/USER_ID|ANONYMOUS_ID/<id>", ErrBadKey, key)
	}
	k := s.key(key)
	sh := s.shard(k)
	if value == nil {
		sh.mu.Lock()
		if _, ok := sh.m[k]; ok {
			delete(sh.m, k)
			s.n.Add(-1)
		}
		sh.mu.Unlock()
		s.anonymousChanged(k)
		return nil
	}
	var v stored
	r, err := DecodeRecord(value)
	if err == nil {
		v.granted = s.cats.granted(r.CategoryPreferences)
		if !r.CapturedAt.IsZero() {
			v.at = r.CapturedAt.UnixNano()
		}
	}
	sh.mu.Lock()
	if _, ok := sh.m[k]; !ok {
		s.n.Add(1)
	}
	sh.m[k] = v
	sh.mu.Unlock()
	s.anonymousChanged(k)
	return err
}

func (s *Store) get(k subjectKey) (stored, bool) {
	sh := s.shard(k)
	sh.mu.RLock()
	v, ok := sh.m[k]
	sh.mu.RUnlock()
	return v, ok
}

// Lookup returns the last known consent of an event's subject. First the
// records of the event's own ids: the userId's or the anonymousId's (either
// may be empty), whichever was captured later; on a tie, only what both
// grant. Without either, consent follows identity links (see linkedPrefs):
// the latest record of the anonymousIds linked to the userId; for an event
// with only an anonymousId linked to a userId, that userId's record, else
// the latest of its anonymousIds'. None: unknown. Before MarkCaughtUp it
// returns ErrNotReady with preferences granting nothing.
func (s *Store) Lookup(workspace, userID, anonymousID string) (Prefs, error) {
	if !s.Ready() {
		return denyAll, ErrNotReady
	}
	var u, a stored
	var hasU, hasA bool
	if userID != "" {
		u, hasU = s.get(s.subject(workspace, UserID, userID))
	}
	if anonymousID != "" {
		a, hasA = s.get(s.subject(workspace, AnonymousID, anonymousID))
	}
	switch {
	case hasU && hasA && u.at == a.at:
		return Prefs{Known: true, Granted: u.granted & a.granted}, nil
	case hasU && (!hasA || u.at > a.at):
		return Prefs{Known: true, Granted: u.granted}, nil
	case hasA:
		return Prefs{Known: true, Granted: a.granted}, nil
	}
	if l, ok := s.linkedPrefs(workspace, userID, anonymousID); ok {
		return Prefs{Known: true, Granted: l.granted}, nil
	}
	return Prefs{}, nil
}
