package suppress

import "errors"

// Reason says why Decide dropped an event; ReasonNone means it passed.
type Reason string

// Reasons, stable strings for metrics labels.
const (
	ReasonNone         Reason = ""
	ReasonUserID       Reason = "user_id"
	ReasonAnonymousID  Reason = "anonymous_id"
	ReasonLinkedUserID Reason = "linked_user_id"
	ReasonNotReady     Reason = "not_ready"
)

// Stage decides whether an event's subject is suppressed.
type Stage struct {
	table *Table
	ids   *Identities
}

// NewStage returns the stage over a suppression table and an identities map,
// which must share one Hasher.
func NewStage(t *Table, ids *Identities) (*Stage, error) {
	if t == nil || ids == nil {
		return nil, errors.New("suppress: NewStage needs a table and identities")
	}
	if t.hasher != ids.hasher {
		return nil, errors.New("suppress: table and identities use different hashers")
	}
	return &Stage{table: t, ids: ids}, nil
}

// Decide reports whether an event of this userId and anonymousId (either may
// be empty) must be dropped, and why: its userId is suppressed, its
// anonymousId is, its anonymousId is linked to a suppressed userId, or a table
// is not ready. It is safe for concurrent use.
func (s *Stage) Decide(workspace, userID, anonymousID string) (suppressed bool, reason Reason) {
	if !s.table.Ready() || !s.ids.Ready() {
		return true, ReasonNotReady
	}
	h := s.table.hasher
	if userID != "" && s.table.set.contains(h.subject(workspace, UserID, userID)) {
		return true, ReasonUserID
	}
	if anonymousID == "" {
		return false, ReasonNone
	}
	anon := h.subject(workspace, AnonymousID, anonymousID)
	if s.table.set.contains(anon) {
		return true, ReasonAnonymousID
	}
	if u, ok := s.ids.userOf(anon); ok && s.table.set.contains(u) {
		return true, ReasonLinkedUserID
	}
	return false, ReasonNone
}
