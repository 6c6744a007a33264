package filter

import (
	"fmt"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// sampler keeps a fixed share of events by a hash of one of their values.
type sampler struct {
	// threshold is Percent of 2^53: keep when the hash's top 53 bits are
	// below it. 100% is 2^53, above every hash.
	threshold uint64
	root      string   // userId, anonymousId, messageId, event, type, properties, context, traits
	path      []string // under properties, context or traits
}

func newSampler(s Sample) (sampler, error) {
	if !(s.Percent >= 0 && s.Percent <= 100) {
		return sampler{}, fmt.Errorf("sample.percent %v: want 0 to 100", s.Percent)
	}
	sm := sampler{threshold: uint64(s.Percent / 100 * (1 << 53)), root: "messageId"}
	if s.Path == "" {
		return sm, nil
	}
	parts, err := splitPath(s.Path)
	if err != nil {
		return sampler{}, fmt.Errorf("sample.%w", err)
	}
	sm.root, sm.path = parts[0], parts[1:]
	switch sm.root {
	case "userId", "anonymousId", "messageId", "event", "type":
		if len(sm.path) > 0 {
			return sampler{}, fmt.Errorf("sample.path %q: %s has no members", s.Path, sm.root)
		}
	case "properties", "context", "traits":
		if len(sm.path) == 0 {
			return sampler{}, fmt.Errorf("sample.path %q: name a member of %s", s.Path, sm.root)
		}
	default:
		return sampler{}, fmt.Errorf("sample.path %q: want userId, anonymousId, messageId, event, type or a path under properties, context, traits", s.Path)
	}
	return sm, nil
}

// keep reports whether ev is in the sample.
func (s sampler) keep(ev *Event) bool {
	v, ok := s.value(ev)
	if !ok {
		v = ev.MessageID
	}
	return xxhash.Sum64String(v)>>11 < s.threshold
}

// value returns the sampled value: a string's contents, or another JSON
// value's text. ok is false when it is absent, null or "".
func (s sampler) value(ev *Event) (string, bool) {
	var doc []byte
	switch s.root {
	case "userId":
		return ev.UserID, ev.UserID != ""
	case "anonymousId":
		return ev.AnonymousID, ev.AnonymousID != ""
	case "messageId":
		return ev.MessageID, ev.MessageID != ""
	case "event":
		return ev.Event, ev.Event != ""
	case "type":
		return ev.Type, ev.Type != ""
	case "properties":
		doc = ev.Properties
	case "context":
		doc = ev.Context
	case "traits":
		doc = ev.Traits
	}
	raw, ok := valueAt(doc, s.path)
	if !ok {
		return "", false
	}
	if raw[0] == '"' {
		m := jsonscan.Member{Key: raw[1 : len(raw)-1], Escaped: true}
		str := m.Name()
		return str, str != ""
	}
	return string(raw), true
}

// valueAt returns the raw value at path in a JSON object, or ok=false when
// the document is not a valid object or the path does not reach a non-null
// value. Repeated keys: the last counts.
func valueAt(doc []byte, path []string) (raw []byte, ok bool) {
	start, end, ok, err := jsonscan.OnlyValue(doc)
	if err != nil || !ok {
		return nil, false
	}
	for _, name := range path {
		if doc[start] != '{' {
			return nil, false
		}
		vs, ve, found, _, _ := jsonscan.LastMember(doc, start, name)
		if !found {
			return nil, false
		}
		start, end = vs, ve
	}
	if string(doc[start:end]) == "null" {
		return nil, false
	}
	return doc[start:end], true
}
