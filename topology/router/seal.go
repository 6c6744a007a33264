package router

import (
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
)

// open returns the plaintext of an events.raw value and remembers its key id
// in s, so that every output of the event is sealed with the same key. With
// encryption disabled the value is the plaintext. ok is false when the value
// cannot be read: its key was shredded, cannot be unwrapped, or it is not an
// envelope; the event is dropped and counted, never dead-lettered (a dead
// letter would copy what nobody may read).
func (p *pipeline) open(s *scratch, rec *kgo.Record) (plain []byte, ok bool) {
	s.sealed, s.lastPlain, s.lastSealed = false, nil, nil
	if p.keys == nil {
		return rec.Value, true
	}
	plain, id, err := p.keys.Open(make([]byte, 0, len(rec.Value)), rec.Value)
	if err != nil {
		p.metrics.dropped(shred.Reason(err))
		return nil, false
	}
	s.sealed, s.kid, s.plain = true, id, plain
	return plain, true
}

// seal returns the value to write for v, a stream-topic value of the event s
// holds: sealed under the event's key. The event's own envelope is reused
// when v is its plaintext unchanged, and one sealed value is shared by every
// output of the same bytes. ok is false when the key was shredded since the
// event was opened.
func (p *pipeline) seal(s *scratch, rec *kgo.Record, v []byte) (_ []byte, ok bool) {
	if !s.sealed {
		return v, true
	}
	if sameSlice(v, s.plain) {
		return rec.Value, true
	}
	if sameSlice(v, s.lastPlain) {
		return s.lastSealed, true
	}
	out, err := p.keys.Seal(make([]byte, 0, len(v)+shred.Overhead), s.kid, v)
	if err != nil {
		p.metrics.dropped(shred.Reason(err))
		return nil, false
	}
	s.lastPlain, s.lastSealed = v, out
	return out, true
}

// sameSlice reports whether a and b are the same bytes in memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && len(a) > 0 && unsafe.SliceData(a) == unsafe.SliceData(b)
}
