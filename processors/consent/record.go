package consent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// PreferenceUpdatedEvent is the reserved track event that updates a user's
// stored consent.
const PreferenceUpdatedEvent = "Segment Consent Preference Updated"

// Errors of records and their keys.
var (
	ErrNotConsentEvent = errors.New("consent: not a " + PreferenceUpdatedEvent + " event")
	ErrNoPreferences   = errors.New("consent: no categoryPreferences")
	ErrBadKey          = errors.New("consent: bad record key")
)

// SubjectType names what a consent record's id is, as in the suppressions
// topic.
type SubjectType string

// Subject types.
const (
	UserID      SubjectType = "USER_ID"
	AnonymousID SubjectType = "ANONYMOUS_ID"
)

// Record is the value of a consent-topic record: the preferences a user gave,
// when they gave them and through which source.
type Record struct {
	CategoryPreferences map[string]bool `json:"categoryPreferences"`
	CapturedAt          time.Time       `json:"capturedAt"`
	Source              string          `json:"source,omitempty"`
}

// Key returns the consent-topic key <workspace>/<subjectType>/<id>. It fails
// when the workspace is empty or holds "/", the type is unknown, or the id is
// empty.
func Key(workspace string, typ SubjectType, id string) ([]byte, error) {
	if workspace == "" || strings.IndexByte(workspace, '/') >= 0 || (typ != UserID && typ != AnonymousID) || id == "" {
		return nil, fmt.Errorf("%w: %q/%q/%q", ErrBadKey, workspace, typ, id)
	}
	return []byte(workspace + "/" + string(typ) + "/" + id), nil
}

// validKey reports whether key is <workspace>/<type>/<id> with all three
// parts present and a known type.
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

// EncodeRecord returns the JSON value of r; it refuses a record without
// categoryPreferences.
func EncodeRecord(r Record) ([]byte, error) {
	if r.CategoryPreferences == nil {
		return nil, ErrNoPreferences
	}
	return json.Marshal(r)
}

// DecodeRecord parses a consent-topic value. A value without
// categoryPreferences is ErrNoPreferences; one whose preferences are not an
// object of booleans is ErrMalformed.
func DecodeRecord(value []byte) (Record, error) {
	var raw struct {
		CategoryPreferences json.RawMessage `json:"categoryPreferences"`
		CapturedAt          time.Time       `json:"capturedAt"`
		Source              string          `json:"source"`
	}
	if err := json.Unmarshal(value, &raw); err != nil {
		return Record{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	prefs, err := parsePreferences(raw.CategoryPreferences)
	if err != nil {
		return Record{}, err
	}
	return Record{CategoryPreferences: prefs, CapturedAt: raw.CapturedAt, Source: raw.Source}, nil
}

// parsePreferences reads a categoryPreferences object of booleans; absent or
// null is ErrNoPreferences.
func parsePreferences(obj []byte) (map[string]bool, error) {
	start, _, ok, err := jsonscan.OnlyValue(obj)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	case !ok:
		return nil, ErrNoPreferences
	case obj[start] != '{':
		return nil, fmt.Errorf("%w: categoryPreferences is not an object", ErrMalformed)
	}
	prefs := map[string]bool{}
	jsonscan.EachMember(obj, start, 0, func(m jsonscan.Member) {
		switch v := string(obj[m.Start:m.End]); v {
		case "true", "false":
			prefs[m.Name()] = v == "true"
		default:
			err = fmt.Errorf("%w: category %q: want true or false, not %s", ErrMalformed, m.Name(), v)
		}
	})
	if err != nil {
		return nil, err
	}
	return prefs, nil
}

// RecordFromEvent turns a "Segment Consent Preference Updated" track event
// into the consent record to write for its user. It refuses other events
// (ErrNotConsentEvent), events without context.consent.categoryPreferences
// (ErrNoPreferences), and preferences that are not an object of booleans
// (ErrMalformed). capturedAt is normally the event's timestamp.
func RecordFromEvent(event string, context []byte, capturedAt time.Time, source string) (Record, error) {
	if event != PreferenceUpdatedEvent {
		return Record{}, ErrNotConsentEvent
	}
	obj, found, err := PreferencesObject(context)
	if err != nil {
		return Record{}, err
	}
	if !found {
		return Record{}, ErrNoPreferences
	}
	prefs, err := parsePreferences(obj)
	if err != nil {
		return Record{}, err
	}
	return Record{CategoryPreferences: prefs, CapturedAt: capturedAt.UTC(), Source: source}, nil
}
