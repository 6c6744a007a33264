package shred

import (
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Table.Open and Table.Seal. Each means the value cannot be read
// (or written) under its key, and the caller drops the record, never
// forwards it in clear.
var (
	// ErrNotReady: the table has not caught up with the keys topic yet.
	ErrNotReady = errors.New("shred: key table not caught up")
	// ErrShredded: no live key has the envelope's key id: it was shredded
	// (tombstoned), or never written to the keys topic.
	ErrShredded = errors.New("shred: the data key is shredded or unknown")
	// ErrUnwrappable: the key record exists but this process cannot unwrap
	// it (its KEK is not in the keyring, or the record is damaged).
	ErrUnwrappable = errors.New("shred: the data key cannot be unwrapped")
)

// Table holds the data keys of the keys topic: it is applied every record of
// the topic in offset order (Apply) and answers Open and Seal by key id,
// Current by subject. Before MarkCaughtUp every answer is ErrNotReady (fail
// closed). Safe for concurrent use: Apply from one follower goroutine,
// lookups from any number.
type Table struct {
	keyring *Keyring
	ready   chan struct{}
	once    sync.Once

	mu        sync.RWMutex
	live      map[KeyID]entry
	bySubject map[Subject][]KeyID
	// dead are the key ids this table saw tombstoned; a later value for one
	// of them is a resurrection (resurrected), never a live key again.
	dead        map[KeyID]struct{}
	resurrected map[KeyID]Subject
	// unwrappable are key records whose KEK is missing or that do not unwrap.
	unwrappable map[KeyID]unwrappable

	cache aeadCache
}

type entry struct {
	dek     DEK
	subject Subject
	kek     string
}

type unwrappable struct {
	subject Subject
	kek     string
}

// NewTable returns an empty, not-ready table unwrapping with keyring.
func NewTable(keyring *Keyring) *Table {
	return &Table{
		keyring:     keyring,
		ready:       make(chan struct{}),
		live:        map[KeyID]entry{},
		bySubject:   map[Subject][]KeyID{},
		dead:        map[KeyID]struct{}{},
		resurrected: map[KeyID]Subject{},
		unwrappable: map[KeyID]unwrappable{},
	}
}

// Keyring is the keyring the table unwraps with.
func (t *Table) Keyring() *Keyring { return t.keyring }

// MarkCaughtUp records that every record up to the end offsets read at start
// has been applied; lookups answer from then on.
func (t *Table) MarkCaughtUp() { t.once.Do(func() { close(t.ready) }) }

// Ready reports whether MarkCaughtUp has been called.
func (t *Table) Ready() bool {
	select {
	case <-t.ready:
		return true
	default:
		return false
	}
}

// WaitReady blocks until MarkCaughtUp has been called or ctx ends.
func (t *Table) WaitReady(ctx context.Context) error {
	select {
	case <-t.ready:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrNotReady, context.Cause(ctx))
	}
}

// Apply applies one keys-topic record. A nil value shreds the key: it is
// forgotten and its id stays dead for the table's life. A value for a dead
// id is a resurrection (a re-wrap that lost a race with a shred): the key
// stays dead and Resurrected lists it. A value that does not unwrap leaves
// the key unwrappable (Open says ErrUnwrappable); the error says why. A key
// not in the RecordKey format is an ErrBadKey and changes nothing.
func (t *Table) Apply(key, value []byte) error {
	s, id, err := ParseRecordKey(key)
	if err != nil {
		return err
	}
	if value == nil {
		t.mu.Lock()
		t.forget(s, id)
		t.dead[id] = struct{}{}
		delete(t.resurrected, id)
		t.mu.Unlock()
		return nil
	}
	dek, kek, uerr := t.keyring.unwrapRecord(key, value)
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, dead := t.dead[id]; dead {
		t.resurrected[id] = s
		return fmt.Errorf("shred: key %s of %s was written after it was shredded; it stays shredded", id, s.Type)
	}
	if uerr != nil {
		t.forget(s, id)
		t.unwrappable[id] = unwrappable{subject: s, kek: kek}
		return uerr
	}
	t.put(s, id, dek, kek)
	return nil
}

// put makes a key live; t.mu is held.
func (t *Table) put(s Subject, id KeyID, dek DEK, kek string) {
	delete(t.unwrappable, id)
	if old, ok := t.live[id]; !ok {
		t.bySubject[s] = append(t.bySubject[s], id)
	} else if old.dek != dek {
		t.cache.drop(id)
	}
	t.live[id] = entry{dek: dek, subject: s, kek: kek}
}

// forget removes a key from the live keys and its cipher from the cache
// (a cache hit is taken for a live key); t.mu is held.
func (t *Table) forget(s Subject, id KeyID) {
	delete(t.unwrappable, id)
	t.cache.drop(id)
	if _, ok := t.live[id]; !ok {
		return
	}
	delete(t.live, id)
	ids := slices.DeleteFunc(t.bySubject[s], func(x KeyID) bool { return x == id })
	if len(ids) == 0 {
		delete(t.bySubject, s)
	} else {
		t.bySubject[s] = ids
	}
}

// aead returns the cipher of a live key.
func (t *Table) aead(id KeyID) (cipher.AEAD, error) {
	if !t.Ready() {
		return nil, ErrNotReady
	}
	// The cache is filled under the read lock and a shred drops the key's
	// cipher under the write lock, so a cached cipher is a live key's: a
	// hit needs neither the lock nor the map.
	if aead := t.cache.lookup(id); aead != nil {
		return aead, nil
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	if e, ok := t.live[id]; ok {
		return t.cache.get(id, &e.dek), nil
	}
	if _, bad := t.unwrappable[id]; bad {
		return nil, ErrUnwrappable
	}
	return nil, ErrShredded
}

// Open appends the plaintext of envelope v to dst and returns it with the
// key id that sealed it. Errors: ErrNotReady, ErrNotSealed, ErrShredded,
// ErrUnwrappable, or a damaged envelope.
func (t *Table) Open(dst, v []byte) ([]byte, KeyID, error) {
	id, err := EnvelopeKeyID(v)
	if err != nil {
		return nil, id, err
	}
	aead, err := t.aead(id)
	if err != nil {
		return nil, id, err
	}
	out, err := open(dst, aead, v)
	return out, id, err
}

// Seal appends the envelope of plaintext under key id to dst. Errors:
// ErrNotReady, ErrShredded (the key was shredded meanwhile), ErrUnwrappable.
func (t *Table) Seal(dst []byte, id KeyID, plaintext []byte) ([]byte, error) {
	aead, err := t.aead(id)
	if err != nil {
		return nil, err
	}
	return seal(dst, aead, id, plaintext), nil
}

// Current returns a live key of subject s, the first applied; ok is false
// when s has none (or the table is not ready).
func (t *Table) Current(s Subject) (id KeyID, ok bool) {
	if !t.Ready() {
		return id, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	ids := t.bySubject[s]
	if len(ids) == 0 {
		return id, false
	}
	return ids[0], true
}

// currentAll sets ids[i] to Current(subjects[i]) under one read lock and
// appends the indexes of subjects without a live key to missing.
func (t *Table) currentAll(subjects []Subject, ids []KeyID, missing []int) []int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for i, s := range subjects {
		if live := t.bySubject[s]; len(live) > 0 {
			ids[i] = live[0]
		} else {
			missing = append(missing, i)
		}
	}
	return missing
}

// KeyIDs returns every live or unwrappable key of subject s: what shredding
// s must tombstone.
func (t *Table) KeyIDs(s Subject) []KeyID {
	t.mu.RLock()
	defer t.mu.RUnlock()
	ids := slices.Clone(t.bySubject[s])
	for id, u := range t.unwrappable {
		if u.subject == s {
			ids = append(ids, id)
		}
	}
	return ids
}

// Len returns the number of live keys.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.live)
}

// Alive reports whether key id is live.
func (t *Table) Alive(id KeyID) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	_, ok := t.live[id]
	return ok
}

// Subjects returns the subjects of type typ in workspace that have a live or
// unwrappable key, sorted.
func (t *Table) Subjects(workspace string, typ SubjectType) []Subject {
	t.mu.RLock()
	defer t.mu.RUnlock()
	seen := map[Subject]bool{}
	for _, e := range t.live {
		if e.subject.Workspace == workspace && e.subject.Type == typ {
			seen[e.subject] = true
		}
	}
	for _, u := range t.unwrappable {
		if u.subject.Workspace == workspace && u.subject.Type == typ {
			seen[u.subject] = true
		}
	}
	out := make([]Subject, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Subject) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// Resurrected returns a tombstone for every key written again after it was
// shredded and not tombstoned since.
func (t *Table) Resurrected() []Record {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]Record, 0, len(t.resurrected))
	for id, s := range t.resurrected {
		out = append(out, Tombstone(s, id))
	}
	return out
}

// Rewrap returns, for up to limit live keys not wrapped by the current KEK,
// their records wrapped by it (same key id, same data key), stamped at.
func (t *Table) Rewrap(at time.Time, limit int) []Record {
	t.mu.RLock()
	defer t.mu.RUnlock()
	cur := t.keyring.Current()
	var out []Record
	for id, e := range t.live {
		if len(out) >= limit {
			break
		}
		if e.kek != cur {
			out = append(out, t.keyring.WrapRecord(e.subject, id, &e.dek, at))
		}
	}
	return out
}

// Stats counts the table's keys.
type Stats struct {
	// Live counts the keys that open envelopes.
	Live int
	// ByKEK counts live keys per KEK that wraps them: a KEK may leave the
	// config once no key is left under it.
	ByKEK map[string]int
	// Unwrappable counts key records that do not unwrap, per KEK they name.
	Unwrappable map[string]int
	// Shredded counts the key ids seen tombstoned; Resurrected those written
	// again since, waiting for a new tombstone.
	Shredded, Resurrected int
}

// Stats returns the table's counts.
func (t *Table) Stats() Stats {
	t.mu.RLock()
	defer t.mu.RUnlock()
	st := Stats{Live: len(t.live), ByKEK: map[string]int{}, Unwrappable: map[string]int{},
		Shredded: len(t.dead), Resurrected: len(t.resurrected)}
	for _, e := range t.live {
		st.ByKEK[e.kek]++
	}
	for _, u := range t.unwrappable {
		st.Unwrappable[u.kek]++
	}
	return st
}

// aeadCache keeps the ciphers of recently used keys: building one costs
// more than sealing a small value, and one per live key would cost about a
// kilobyte each. Direct-mapped and lock-free: a slot holds one key's cipher.
type aeadCache struct {
	slots [aeadCacheSlots]atomic.Pointer[cachedAEAD]
}

const aeadCacheSlots = 1 << 14

type cachedAEAD struct {
	id   KeyID
	aead cipher.AEAD
}

func slotOf(id KeyID) int { return int(binary.LittleEndian.Uint32(id[:4]) % aeadCacheSlots) }

// lookup returns the cached cipher of key id, nil on a miss.
func (c *aeadCache) lookup(id KeyID) cipher.AEAD {
	if e := c.slots[slotOf(id)].Load(); e != nil && e.id == id {
		return e.aead
	}
	return nil
}

// get returns the cipher of key id with data key dek, building it on a miss.
func (c *aeadCache) get(id KeyID, dek *DEK) cipher.AEAD {
	if aead := c.lookup(id); aead != nil {
		return aead
	}
	slot := &c.slots[slotOf(id)]
	aead, _ := newAEAD(dek[:]) // a 32-byte key always makes a cipher
	slot.Store(&cachedAEAD{id: id, aead: aead})
	return aead
}

// drop forgets key id's cipher, so a shredded key's material leaves the cache.
func (c *aeadCache) drop(id KeyID) {
	slot := &c.slots[slotOf(id)]
	if e := slot.Load(); e != nil && e.id == id {
		slot.CompareAndSwap(e, nil)
	}
}
