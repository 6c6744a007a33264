package suppress

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/sluicehq/sluice/schemas"
)

// Link is the value of an identities-topic record: the userId an anonymousId
// belongs to (from identify or alias), and when that was learnt.
type Link struct {
	UserID string    `json:"userId"`
	At     time.Time `json:"at"`
}

// LinkKey returns the identities-topic key <workspace>/<anonymousId>.
func LinkKey(workspace, anonymousID string) ([]byte, error) {
	if workspace == "" || strings.IndexByte(workspace, '/') >= 0 || anonymousID == "" {
		return nil, fmt.Errorf("%w: link %q/%q: want a workspace without / and an anonymousId", ErrBadKey, workspace, anonymousID)
	}
	return []byte(workspace + "/" + anonymousID), nil
}

// EncodeLink returns the JSON value of l, {"userId":…,"at":…}; it fails on
// an empty userId. Written by hand: the router writes one per identify call.
func EncodeLink(l Link) ([]byte, error) {
	if l.UserID == "" {
		return nil, fmt.Errorf("%w: link without userId", ErrBadValue)
	}
	b := make([]byte, 0, len(l.UserID)+64)
	b = schemas.AppendJSONString(append(b, `{"userId":`...), l.UserID)
	b = l.At.AppendFormat(append(b, `,"at":"`...), time.RFC3339Nano)
	return append(b, `"}`...), nil
}

// DecodeLink parses an identities-topic value: a JSON object whose userId is
// a non-empty UTF-8 string and whose at, if present, is an RFC 3339 time. It reads
// the two members without decoding the rest: every router and sink applies
// every link record.
func DecodeLink(value []byte) (Link, error) {
	if !gjson.ValidBytes(value) {
		return Link{}, fmt.Errorf("%w: link is not JSON", ErrBadValue)
	}
	v := gjson.ParseBytes(value)
	if !v.IsObject() {
		return Link{}, fmt.Errorf("%w: link is not a JSON object", ErrBadValue)
	}
	u := v.Get("userId")
	if u.Type != gjson.String || u.Str == "" {
		return Link{}, fmt.Errorf("%w: link without userId", ErrBadValue)
	}
	if !utf8.ValidString(u.Str) {
		return Link{}, fmt.Errorf("%w: link userId is not UTF-8", ErrBadValue)
	}
	l := Link{UserID: u.Str}
	switch at := v.Get("at"); at.Type {
	case gjson.Null:
	case gjson.String:
		t, err := time.Parse(time.RFC3339Nano, at.Str)
		if err != nil {
			return Link{}, fmt.Errorf("%w: link at: %v", ErrBadValue, err)
		}
		l.At = t
	default:
		return Link{}, fmt.Errorf("%w: link at: want an RFC 3339 string", ErrBadValue)
	}
	return l, nil
}

// Identities maps anonymousIds to the userIds they belong to, following the
// compacted identities topic. It stores fingerprints only. The zero value is
// not usable; call NewIdentities.
type Identities struct {
	readiness
	hasher Hasher
	links  *shardTable
}

// NewIdentities returns an empty, not-ready map fingerprinting with h; give it
// the Hasher of the Table it is used with.
func NewIdentities(h Hasher) *Identities {
	return &Identities{hasher: h, links: newShardTable(true)}
}

// Apply applies one identities-topic record: a value links the anonymousId to
// its userId (replacing an older link), a nil value (tombstone) unlinks it. A
// bad key or value is an error and changes nothing, so an old link to a
// suppressed user keeps holding.
func (m *Identities) Apply(key, value []byte) error {
	i := bytes.IndexByte(key, '/')
	if i <= 0 || i == len(key)-1 {
		return fmt.Errorf("%w: %q: want <workspace>/<anonymousId>", ErrBadKey, key)
	}
	ws, anon := key[:i], key[i+1:]
	var sb stackBuf
	buf := append(sb[:0], ws...)
	buf = append(buf, "/"+AnonymousID+"/"...)
	buf = append(buf, anon...)
	a := m.hasher.key(buf)
	if value == nil {
		m.links.remove(a)
		return nil
	}
	l, err := DecodeLink(value)
	if err != nil {
		return err
	}
	buf = append(sb[:0], ws...)
	buf = append(buf, "/"+UserID+"/"...)
	buf = append(buf, l.UserID...)
	m.links.put(a, m.hasher.key(buf))
	return nil
}

// Linked reports whether anonymousID is linked to userID. Before MarkCaughtUp
// it returns ErrNotReady.
func (m *Identities) Linked(workspace, anonymousID, userID string) (bool, error) {
	if !m.Ready() {
		return false, ErrNotReady
	}
	u, ok := m.userOf(m.hasher.subject(workspace, AnonymousID, anonymousID))
	return ok && u == m.hasher.subject(workspace, UserID, userID), nil
}

// userOf returns the fingerprint of the userId an anonymousId is linked to.
func (m *Identities) userOf(anon fingerprint) (fingerprint, bool) {
	return m.links.get(anon)
}

// Len returns the number of linked anonymousIds.
func (m *Identities) Len() int { return int(m.links.live.Load()) }

// Reserve sizes the map for n links so that loading them does not resize.
func (m *Identities) Reserve(n int) { m.links.reserve(n) }
