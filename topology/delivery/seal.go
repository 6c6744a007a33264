package delivery

import (
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
)

// open returns the plaintext of a dest.<name> value and the key that sealed
// it; with encryption disabled the value itself. reason is set when the
// record cannot be read and must be dropped (see the package doc).
func (e *Engine) open(r *kgo.Record) (plain []byte, id shred.KeyID, reason string) {
	if e.keys == nil {
		return r.Value, id, ""
	}
	plain, id, err := e.keys.Open(make([]byte, 0, len(r.Value)), r.Value)
	if err != nil {
		return nil, id, shred.Reason(err)
	}
	return plain, id, ""
}

// seal returns a dead letter's value sealed under its event's key; ok is
// false when the key was shredded meanwhile (the dead letter is dropped).
func (e *Engine) seal(id shred.KeyID, v []byte) (_ []byte, ok bool) {
	if e.keys == nil {
		return v, true
	}
	out, err := e.keys.Seal(make([]byte, 0, len(v)+shred.Overhead), id, v)
	return out, err == nil
}

// shredded reports whether a record opened under key id may no longer be
// delivered: its key was shredded since.
func (e *Engine) shredded(id shred.KeyID) bool { return e.keys != nil && !e.keys.Alive(id) }
