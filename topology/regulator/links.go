package regulator

import (
	"bytes"
	"slices"
	"sync"

	"github.com/sluicehq/sluice/processors/suppress"
)

// links indexes one workspace's identities topic backwards: the
// anonymousIds linked to each userId. The suppress package's Identities
// answers the other way (and keeps fingerprints only), which a deletion
// cannot use: it needs the ids themselves.
type links struct {
	prefix []byte // "<workspace>/"

	mu     sync.RWMutex
	byAnon map[string]string          // anonymousId → userId
	byUser map[string]map[string]bool // userId → anonymousIds
}

func newLinks(workspace string) *links {
	return &links{prefix: []byte(workspace + "/"), byAnon: map[string]string{}, byUser: map[string]map[string]bool{}}
}

// apply is the identities follower's handler. Records of other workspaces
// and values it cannot read are skipped.
func (l *links) apply(key, value []byte) {
	if !bytes.HasPrefix(key, l.prefix) || len(key) == len(l.prefix) {
		return
	}
	anon := string(key[len(l.prefix):])
	user := ""
	if value != nil {
		link, err := suppress.DecodeLink(value)
		if err != nil {
			return
		}
		user = link.UserID
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.byAnon[anon]; ok {
		delete(l.byUser[old], anon)
		if len(l.byUser[old]) == 0 {
			delete(l.byUser, old)
		}
		delete(l.byAnon, anon)
	}
	if user == "" {
		return
	}
	l.byAnon[anon] = user
	if l.byUser[user] == nil {
		l.byUser[user] = map[string]bool{}
	}
	l.byUser[user][anon] = true
}

// anonymousIDs returns the anonymousIds linked to user, sorted.
func (l *links) anonymousIDs(user string) []string {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]string, 0, len(l.byUser[user]))
	for a := range l.byUser[user] {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}
