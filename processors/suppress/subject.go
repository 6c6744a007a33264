package suppress

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// SubjectType names what a subject id is: a userId or an anonymousId.
type SubjectType string

// Subject types, as in DESIGN's regulations API.
const (
	UserID      SubjectType = "USER_ID"
	AnonymousID SubjectType = "ANONYMOUS_ID"
)

// ErrBadKey reports a record key that is not in the documented format.
var ErrBadKey = errors.New("suppress: bad record key")

// ErrBadValue reports a record value that is not in the documented format.
var ErrBadValue = errors.New("suppress: bad record value")

// valid reports whether t is one of the subject types.
func (t SubjectType) valid() bool { return t == UserID || t == AnonymousID }

// Key returns the suppressions-topic key <workspace>/<subjectType>/<id>.
// It fails when the workspace is empty or holds "/", the type is unknown, or
// the id is empty.
func Key(workspace string, typ SubjectType, id string) ([]byte, error) {
	if err := checkSubject(workspace, typ, id); err != nil {
		return nil, err
	}
	return []byte(workspace + "/" + string(typ) + "/" + id), nil
}

func checkSubject(workspace string, typ SubjectType, id string) error {
	switch {
	case workspace == "" || strings.IndexByte(workspace, '/') >= 0:
		return fmt.Errorf("%w: workspace %q: want non-empty, without /", ErrBadKey, workspace)
	case !typ.valid():
		return fmt.Errorf("%w: subject type %q: want USER_ID or ANONYMOUS_ID", ErrBadKey, typ)
	case id == "":
		return fmt.Errorf("%w: empty subject id", ErrBadKey)
	}
	return nil
}

// ParseKey splits a suppressions-topic key into its workspace, subject type
// and subject id, or reports ErrBadKey.
func ParseKey(key []byte) (workspace string, typ SubjectType, id string, err error) {
	if !validKey(key) {
		return "", "", "", fmt.Errorf("%w: %q: want <workspace>/USER_ID|ANONYMOUS_ID/<id>", ErrBadKey, key)
	}
	ws, rest, _ := bytes.Cut(key, []byte{'/'})
	t, sub, _ := bytes.Cut(rest, []byte{'/'})
	return string(ws), SubjectType(t), string(sub), nil
}

// validKey reports whether key is <workspace>/<type>/<id> with all three parts
// present and a known type; it does not allocate.
func validKey(key []byte) bool {
	i := bytes.IndexByte(key, '/')
	if i <= 0 {
		return false
	}
	rest := key[i+1:]
	j := bytes.IndexByte(rest, '/')
	if j < 0 || j == len(rest)-1 {
		return false
	}
	t := rest[:j]
	return string(t) == string(UserID) || string(t) == string(AnonymousID)
}

// Record is the value of a suppressions-topic record: which regulation
// suppressed which subject, and when.
type Record struct {
	RegulationID string      `json:"regulationId"`
	SubjectType  SubjectType `json:"subjectType"`
	SubjectID    string      `json:"subjectId"`
	At           time.Time   `json:"at"`
}

// EncodeRecord returns the JSON value of r. It fails when the subject type is
// unknown or the subject id is empty.
func EncodeRecord(r Record) ([]byte, error) {
	if !r.SubjectType.valid() || r.SubjectID == "" {
		return nil, fmt.Errorf("%w: subject %q/%q", ErrBadValue, r.SubjectType, r.SubjectID)
	}
	return json.Marshal(r)
}

// DecodeRecord parses a suppressions-topic value. Table.Apply does not call
// it: the key alone decides (see the package doc).
func DecodeRecord(value []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(value, &r); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrBadValue, err)
	}
	if !r.SubjectType.valid() || r.SubjectID == "" {
		return Record{}, fmt.Errorf("%w: subject %q/%q", ErrBadValue, r.SubjectType, r.SubjectID)
	}
	return r, nil
}
