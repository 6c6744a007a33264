package profiles

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/sluicehq/sluice/schemas"
)

// ErrBadKey is returned for a profiles-topic key not of the form
// <workspace>/<userId>.
var ErrBadKey = errors.New("profiles: bad key")

// Profile is a profiles-topic value.
type Profile struct {
	Traits    json.RawMessage `json:"traits"`
	UpdatedAt time.Time       `json:"updatedAt"`
	Source    string          `json:"source"`
}

// Key returns the profiles-topic key of a user.
func Key(workspace, userID string) []byte {
	return []byte(workspace + "/" + userID)
}

func validKey(key []byte) bool {
	ws, user, ok := strings.Cut(string(key), "/")
	return ok && ws != "" && user != ""
}

// Encode returns p's topic value; p.Traits must be a JSON object or empty.
func Encode(p Profile) ([]byte, error) {
	traits := []byte(p.Traits)
	if len(traits) == 0 {
		traits = []byte("{}")
	}
	if !json.Valid(traits) {
		return nil, errors.New("profiles: traits: not JSON")
	}
	return appendProfile(nil, traits, p.UpdatedAt, p.Source), nil
}

// appendProfile appends the topic value of traits (a JSON object) updated
// at at by source, traits first.
func appendProfile(dst, traits []byte, at time.Time, source string) []byte {
	dst = append(dst, `{"traits":`...)
	dst = append(dst, traits...)
	dst = append(dst, `,"updatedAt":"`...)
	dst = at.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","source":`...)
	return append(schemas.AppendJSONString(dst, source), '}')
}

// Decode reads a topic value; its traits must be a JSON object.
func Decode(value []byte) (Profile, error) {
	var p Profile
	if err := json.Unmarshal(value, &p); err != nil {
		return Profile{}, fmt.Errorf("profiles: %w", err)
	}
	if !gjson.ParseBytes(p.Traits).IsObject() {
		return Profile{}, errors.New("profiles: traits: want a JSON object")
	}
	return p, nil
}

// Merge returns the traits object of stored with every top-level trait of
// update set to update's value. Traits keep their order: stored ones first,
// then new ones as update names them; a trait named twice in update takes
// its last value. A stored or update that is not a JSON object counts as {}.
// The result is a new slice.
func Merge(stored, update []byte) []byte {
	type member struct{ key, value string }
	var members []member
	index := map[string]int{}
	add := func(k, v gjson.Result) bool {
		if i, ok := index[k.Str]; ok {
			members[i].value = v.Raw
			return true
		}
		index[k.Str] = len(members)
		members = append(members, member{k.Raw, v.Raw})
		return true
	}
	if s := gjson.ParseBytes(stored); s.IsObject() {
		s.ForEach(add)
	}
	if u := gjson.ParseBytes(update); u.IsObject() {
		u.ForEach(add)
	}
	n := 2
	for _, m := range members {
		n += len(m.key) + len(m.value) + 2
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, m := range members {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, m.key...)
		out = append(out, ':')
		out = append(out, m.value...)
	}
	return append(out, '}')
}
