package suppress

import "fmt"

// Table is the set of suppressed subjects, following the compacted
// suppressions topic. The zero value is not usable; call NewTable.
type Table struct {
	readiness
	hasher Hasher
	set    *shardTable
}

// NewTable returns an empty, not-ready table fingerprinting with h.
func NewTable(h Hasher) *Table {
	return &Table{hasher: h, set: newShardTable(false)}
}

// Apply applies one suppressions-topic record: a non-nil value suppresses the
// key's subject, a nil value (tombstone) unsuppresses it. The value is not
// decoded. A key not in the documented format is an ErrBadKey and changes
// nothing.
func (t *Table) Apply(key, value []byte) error {
	if !validKey(key) {
		return fmt.Errorf("%w: %q: want <workspace>/USER_ID|ANONYMOUS_ID/<id>", ErrBadKey, key)
	}
	k := t.hasher.key(key)
	if value == nil {
		t.set.remove(k)
	} else {
		t.set.put(k, fingerprint{})
	}
	return nil
}

// Suppressed reports whether the subject is suppressed. Before MarkCaughtUp it
// returns true and ErrNotReady, so ignoring the error still fails closed.
func (t *Table) Suppressed(workspace string, typ SubjectType, id string) (bool, error) {
	if !t.Ready() {
		return true, ErrNotReady
	}
	return t.set.contains(t.hasher.subject(workspace, typ, id)), nil
}

// Len returns the number of suppressed subjects.
func (t *Table) Len() int { return int(t.set.live.Load()) }

// Reserve sizes the table for n subjects so that loading them does not
// resize; a loader may pass the record count between start and end offsets.
func (t *Table) Reserve(n int) { t.set.reserve(n) }

// Hasher returns the Hasher the table fingerprints with.
func (t *Table) Hasher() Hasher { return t.hasher }
