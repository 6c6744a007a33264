package consent

import (
	"bytes"
	"fmt"
	"sync"
)

// links is the Store's view of the identities topic: which userId each
// anonymousId belongs to, the anonymousIds of each userId (a list threaded
// through next, so the maps hold no pointers), and per userId the consent
// resolved from its anonymousIds' records (see resolveLinked). All under mu;
// it is consulted only for events whose own ids have no consent stored.
type links struct {
	mu     sync.RWMutex
	userOf map[subjectKey]subjectKey // anonymousId → userId
	first  map[subjectKey]subjectKey // userId → one of its anonymousIds
	next   map[subjectKey]subjectKey // anonymousId → the next of its userId's
	linked map[subjectKey]stored     // userId → resolved consent of its anonymousIds
}

func newLinks() links {
	return links{userOf: map[subjectKey]subjectKey{}, first: map[subjectKey]subjectKey{},
		next: map[subjectKey]subjectKey{}, linked: map[subjectKey]stored{}}
}

// ApplyLink applies one identities-topic record, whose key is
// <workspace>/<anonymousId>: userID links the anonymousId to that userId
// (replacing an older link), "" (a tombstone) unlinks it. The caller decodes
// the record's value. A bad key is ErrBadKey and changes nothing.
func (s *Store) ApplyLink(key []byte, userID string) error {
	i := bytes.IndexByte(key, '/')
	if i <= 0 || i == len(key)-1 {
		return fmt.Errorf("%w: link %q: want <workspace>/<anonymousId>", ErrBadKey, key)
	}
	ws, anon := string(key[:i]), string(key[i+1:])
	if userID == "" {
		s.Unlink(ws, anon)
	} else {
		s.Link(ws, anon, userID)
	}
	return nil
}

// Link records that anonymousID belongs to userID, replacing an older link
// of anonymousID.
func (s *Store) Link(workspace, anonymousID, userID string) {
	a, u := s.subject(workspace, AnonymousID, anonymousID), s.subject(workspace, UserID, userID)
	l := &s.links
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.userOf[a]; ok {
		if old == u {
			return
		}
		l.remove(a, old)
		s.resolveLinked(old)
	}
	l.userOf[a] = u
	if head, ok := l.first[u]; ok {
		l.next[a] = head
	}
	l.first[u] = a
	s.resolveLinked(u)
}

// Unlink forgets anonymousID's link, if any.
func (s *Store) Unlink(workspace, anonymousID string) {
	a := s.subject(workspace, AnonymousID, anonymousID)
	l := &s.links
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, ok := l.userOf[a]; ok {
		l.remove(a, u)
		s.resolveLinked(u)
	}
}

// Links returns the number of linked anonymousIds.
func (s *Store) Links() int {
	s.links.mu.RLock()
	defer s.links.mu.RUnlock()
	return len(s.links.userOf)
}

// remove takes anonymous subject a out of user u's list. Under mu.
func (l *links) remove(a, u subjectKey) {
	delete(l.userOf, a)
	next, hasNext := l.next[a]
	delete(l.next, a)
	if l.first[u] == a {
		if hasNext {
			l.first[u] = next
		} else {
			delete(l.first, u)
		}
		return
	}
	for at := l.first[u]; ; {
		n, ok := l.next[at]
		if !ok {
			return
		}
		if n == a {
			if hasNext {
				l.next[at] = next
			} else {
				delete(l.next, at)
			}
			return
		}
		at = n
	}
}

// anonymousChanged re-resolves the linked consent of the user an anonymous
// subject belongs to, after its consent record changed.
func (s *Store) anonymousChanged(a subjectKey) {
	l := &s.links
	l.mu.Lock()
	defer l.mu.Unlock()
	if u, ok := l.userOf[a]; ok {
		s.resolveLinked(u)
	}
}

// resolveLinked recomputes user u's consent from its anonymousIds' records:
// the one captured last; on a tie, only what all of the latest grant. Under
// links.mu (write).
func (s *Store) resolveLinked(u subjectKey) {
	l := &s.links
	var best stored
	found := false
	for a, ok := l.first[u]; ok; a, ok = l.next[a] {
		v, has := s.get(a)
		switch {
		case !has:
		case !found || v.at > best.at:
			best, found = v, true
		case v.at == best.at:
			best.granted &= v.granted
		}
	}
	if found {
		l.linked[u] = best
	} else {
		delete(l.linked, u)
	}
}

// linkedPrefs returns the consent that follows identity for an event whose
// own ids have none stored: with a userId, the resolved consent of its
// anonymousIds; with only an anonymousId linked to a userId, that userId's
// own record, else the resolved consent of its anonymousIds.
func (s *Store) linkedPrefs(workspace, userID, anonymousID string) (stored, bool) {
	l := &s.links
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.userOf) == 0 {
		return stored{}, false
	}
	var u subjectKey
	if userID != "" {
		u = s.subject(workspace, UserID, userID)
	} else {
		var ok bool
		if u, ok = l.userOf[s.subject(workspace, AnonymousID, anonymousID)]; !ok {
			return stored{}, false
		}
		if v, ok := s.get(u); ok {
			return v, true
		}
	}
	v, ok := l.linked[u]
	return v, ok
}
