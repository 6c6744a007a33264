package shred

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SubjectType says whose data a key protects.
type SubjectType string

// Subject types. UserID and AnonymousID are the regulations' subject types;
// Unattributed is a day's key for records that name no subject (the api's
// dead letters of refused input).
const (
	UserID       SubjectType = "USER_ID"
	AnonymousID  SubjectType = "ANONYMOUS_ID"
	Unattributed SubjectType = "UNATTRIBUTED"
)

func (t SubjectType) valid() bool { return t == UserID || t == AnonymousID || t == Unattributed }

// Subject is whose data a key protects: a userId, an anonymousId, or a day
// of unattributed records, in one workspace.
type Subject struct {
	Workspace string
	Type      SubjectType
	ID        string
}

// SubjectOf is the subject of an event: its userId, else its anonymousId,
// the id the event's Kafka key carries.
func SubjectOf(workspace, userID, anonymousID string) Subject {
	if userID != "" {
		return Subject{Workspace: workspace, Type: UserID, ID: userID}
	}
	return Subject{Workspace: workspace, Type: AnonymousID, ID: anonymousID}
}

// DayLayout is the ID of an Unattributed subject: the UTC day.
const DayLayout = "2006-01-02"

// UnattributedOn is the subject of the records without a subject written on
// at's UTC day.
func UnattributedOn(workspace string, at time.Time) Subject {
	return Subject{Workspace: workspace, Type: Unattributed, ID: at.UTC().Format(DayLayout)}
}

// String is "<workspace>/<type>/<id>", the subject's index in a Table.
func (s Subject) String() string { return s.Workspace + "/" + string(s.Type) + "/" + s.ID }

// Day is the day of an Unattributed subject; ok is false for other subjects.
func (s Subject) Day() (day time.Time, ok bool) {
	if s.Type != Unattributed {
		return time.Time{}, false
	}
	d, err := time.Parse(DayLayout, s.ID)
	return d, err == nil
}

// KeyID names one data key. It is random, so it says nothing of its subject;
// it is written in clear in every envelope the key sealed.
type KeyID [16]byte

// NewKeyID returns a random key id.
func NewKeyID() KeyID {
	var id KeyID
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	return id
}

// String is the id in lower-case hex, as record keys carry it.
func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// ErrBadKey reports a keys-topic record key not in the documented format.
var ErrBadKey = errors.New("shred: bad keys-topic record key")

// RecordKey is the keys-topic key of a data key: "<workspace>/<type>/<key
// id in hex>/<subject id>". The subject id comes last because it may hold "/".
func RecordKey(s Subject, id KeyID) []byte {
	b := make([]byte, 0, len(s.Workspace)+len(s.Type)+len(s.ID)+35)
	b = append(b, s.Workspace...)
	b = append(b, '/')
	b = append(b, s.Type...)
	b = append(b, '/')
	b = hex.AppendEncode(b, id[:])
	b = append(b, '/')
	return append(b, s.ID...)
}

// ParseRecordKey reads a RecordKey back.
func ParseRecordKey(key []byte) (Subject, KeyID, error) {
	var id KeyID
	ws, rest, ok1 := bytes.Cut(key, []byte("/"))
	typ, rest, ok2 := bytes.Cut(rest, []byte("/"))
	if !ok1 || !ok2 || len(ws) == 0 || !SubjectType(typ).valid() || len(rest) < 2*len(id)+1 || rest[2*len(id)] != '/' {
		return Subject{}, id, fmt.Errorf("%w: %q: want <workspace>/<type>/<key id>/<subject id>", ErrBadKey, key)
	}
	if _, err := hex.Decode(id[:], rest[:2*len(id)]); err != nil || strings.ToLower(string(rest[:2*len(id)])) != string(rest[:2*len(id)]) {
		return Subject{}, id, fmt.Errorf("%w: %q: the key id is not lower-case hex", ErrBadKey, key)
	}
	subjectID := rest[2*len(id)+1:]
	if len(subjectID) == 0 {
		return Subject{}, id, fmt.Errorf("%w: %q: no subject id", ErrBadKey, key)
	}
	return Subject{Workspace: string(ws), Type: SubjectType(typ), ID: string(subjectID)}, id, nil
}
