package api

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
)

// sealScratch is a request's reusable sealing memory: each event's data key
// and one event's plaintext value at a time.
type sealScratch struct {
	kids  []shred.KeyID
	plain []byte
}

// ensureKeys gives every event of the request a data key of its subject
// (Config.Keys), creating the missing ones and waiting until the broker
// acknowledged them from every in-sync replica: no event is produced, let
// alone acknowledged, under a key the keys topic does not hold. Like the
// events, the keys are written under ctx stripped of its cancellation,
// bounded by ProduceTimeout.
func (s *Server) ensureKeys(ctx context.Context, st *reqState) error {
	if s.cfg.Keys == nil {
		return nil
	}
	events := st.payload.Events
	subjects := make([]shred.Subject, len(events))
	for i := range events {
		subjects[i] = shred.SubjectOf(s.workspace, events[i].UserID, events[i].AnonymousID)
	}
	if cap(st.seal.kids) < len(events) {
		st.seal.kids = make([]shred.KeyID, len(events))
	}
	st.seal.kids = st.seal.kids[:len(events)]
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ProduceTimeout)
	defer cancel()
	return s.cfg.Keys.Ensure(kctx, subjects, st.seal.kids)
}

// appendValue appends event i's events.raw value to dst: sealed under the
// key ensureKeys gave it, or plain without Config.Keys. It fails only when
// the key was shredded since ensureKeys (the request is answered 503 and
// its retry gets a new key).
func (s *Server) appendValue(dst []byte, st *reqState, i int, e *schemas.Event) ([]byte, error) {
	if s.cfg.Keys == nil {
		return e.AppendRaw(dst), nil
	}
	st.seal.plain = e.AppendRaw(st.seal.plain[:0])
	return s.cfg.Keys.Table().Seal(dst, st.seal.kids[i], st.seal.plain)
}

// sealDeadLetter seals a dead letter of refused input under the unattributed
// key of its day (a refused body names no subject it could be shredded
// with: package processors/shred). ok is false when no key could be had;
// the dead letter is then not written, never written in clear.
func (s *Server) sealDeadLetter(ctx context.Context, receivedAt time.Time, v []byte) (_ []byte, ok bool) {
	if s.cfg.Keys == nil {
		return v, true
	}
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ProduceTimeout)
	defer cancel()
	out, err := s.cfg.Keys.SealFor(kctx, make([]byte, 0, len(v)+shred.Overhead), shred.UnattributedOn(s.workspace, receivedAt), v)
	if err != nil {
		s.log.Warn("dead-letter record not written: no data key", "err", err)
		s.metrics.deadLetters.WithLabelValues("failed").Inc()
		return nil, false
	}
	return out, true
}
