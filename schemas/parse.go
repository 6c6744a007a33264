package schemas

import (
	"sync"
	"time"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// mode says whose bytes the event parser reads.
type mode uint8

const (
	// modeCall is a single call's body: writeKey is read, the envelope
	// fields (workspace, source, receivedAt, originalTimestamp) are the
	// server's to set and ignored if sent.
	modeCall mode = iota
	// modeItem is a batch item: like modeCall, but writeKey is the batch's.
	modeItem
	// modeRaw is an events.raw value: the envelope fields are read and
	// "timestamp" is the corrected one.
	modeRaw
)

// field is a known top-level field of an event.
type field uint8

const (
	fUnknown field = iota
	fType
	// string fields, kept in the parser's arena
	fMessageID
	fUserID
	fAnonymousID
	fEvent
	fName
	fCategory
	fGroupID
	fPreviousID
	fWorkspace
	fSource
	fWriteKey
	// times
	fTimestamp
	fOriginalTimestamp
	fSentAt
	fReceivedAt
	// objects
	fContext
	fIntegrations
	fProperties
	fTraits
	nFields
)

var fieldNames = [nFields]string{
	fType: "type", fMessageID: "messageId", fUserID: "userId", fAnonymousID: "anonymousId",
	fEvent: "event", fName: "name", fCategory: "category", fGroupID: "groupId",
	fPreviousID: "previousId", fWorkspace: "workspace", fSource: "source", fWriteKey: "writeKey",
	fTimestamp: "timestamp", fOriginalTimestamp: "originalTimestamp", fSentAt: "sentAt",
	fReceivedAt: "receivedAt", fContext: "context", fIntegrations: "integrations",
	fProperties: "properties", fTraits: "traits",
}

// lookupField maps a key to its field in mode m; fields m does not read are
// fUnknown and skipped.
func lookupField(key []byte, m mode) field {
	switch string(key) {
	case "type":
		return fType
	case "messageId":
		return fMessageID
	case "userId":
		return fUserID
	case "anonymousId":
		return fAnonymousID
	case "event":
		return fEvent
	case "name":
		return fName
	case "category":
		return fCategory
	case "groupId":
		return fGroupID
	case "previousId":
		return fPreviousID
	case "timestamp":
		return fTimestamp
	case "sentAt":
		return fSentAt
	case "context":
		return fContext
	case "integrations":
		return fIntegrations
	case "properties":
		return fProperties
	case "traits":
		return fTraits
	case "writeKey":
		if m == modeCall {
			return fWriteKey
		}
	case "workspace":
		if m == modeRaw {
			return fWorkspace
		}
	case "source":
		if m == modeRaw {
			return fSource
		}
	case "receivedAt":
		if m == modeRaw {
			return fReceivedAt
		}
	case "originalTimestamp":
		if m == modeRaw {
			return fOriginalTimestamp
		}
	}
	return fUnknown
}

// idField reports whether a field takes a number as well as a string.
func idField(f field) bool {
	return f == fUserID || f == fAnonymousID || f == fGroupID || f == fPreviousID
}

type span struct{ off, end int32 }

// parsers recycles eventParsers so their arenas are reused between events.
var parsers = sync.Pool{New: func() any { return new(eventParser) }}

// eventParser reads one event object. Its arena collects every string field
// so that the event's strings cost one allocation together.
type eventParser struct {
	arena []byte
	spans [fWriteKey + 1]span
	tmp   []byte
}

// parse reads the event object at s.Pos into e. WriteKey, read in modeCall,
// is returned rather than kept on the event.
func (p *eventParser) parse(s *scanner, m mode, e *Event) (writeKey string, err *Error) {
	if s.peek() != '{' {
		return "", s.syntax("an event must be a JSON object")
	}
	if err := s.enter(); err != nil {
		return "", err
	}
	p.arena = p.arena[:0]
	p.spans = [fWriteKey + 1]span{}
	var seen uint32
	for n := 0; ; n++ {
		key, more, err := s.member(n)
		if err != nil {
			return "", err
		}
		if !more {
			break
		}
		f := lookupField(key, m)
		if f == fUnknown {
			if err := s.value(); err != nil {
				err.Field = string(key)
				return "", err
			}
			continue
		}
		if seen&(1<<f) != 0 {
			return "", &Error{Rule: RuleDuplicateField, Index: -1, Field: fieldNames[f],
				Offset: s.Pos, Reason: "field appears more than once"}
		}
		seen |= 1 << f
		fixed := s.Fixed
		if err := p.field(s, f, e, m); err != nil {
			if err.Field == "" {
				err.Field = fieldNames[f]
			}
			return "", err
		}
		if n := s.Fixed - fixed; n > 0 {
			e.notes = append(e.notes, surrogateNote(fieldNames[f], n))
		}
	}
	all := string(p.arena) // the event's one allocation for its strings
	get := func(f field) string { return all[p.spans[f].off:p.spans[f].end] }
	e.MessageID = get(fMessageID)
	e.UserID = get(fUserID)
	e.AnonymousID = get(fAnonymousID)
	e.Event = get(fEvent)
	e.Name = get(fName)
	e.Category = get(fCategory)
	e.GroupID = get(fGroupID)
	e.PreviousID = get(fPreviousID)
	e.Workspace = get(fWorkspace)
	e.Source = get(fSource)
	return get(fWriteKey), nil
}

// field reads the value of one known field. Times are read leniently from
// outside input (modeCall, modeItem), strictly from events.raw.
func (p *eventParser) field(s *scanner, f field, e *Event, m mode) *Error {
	c := s.peek()
	if c == 'n' { // null is the same as absent
		return s.literal("null")
	}
	switch {
	case f == fType:
		if c != '"' {
			return &Error{Rule: RuleInvalidType, Index: -1, Offset: s.Pos, Reason: "must be a string"}
		}
		at := s.Pos
		raw, _, err := s.str()
		if err != nil {
			return err
		}
		t, ok := typeOf(raw)
		if !ok {
			return &Error{Rule: RuleInvalidType, Index: -1, Offset: at,
				Reason: "must be one of track, identify, page, screen, group, alias"}
		}
		e.Type = t
	case f <= fWriteKey:
		start := s.Pos
		switch {
		case c == '"':
			raw, escaped, err := s.str()
			if err != nil {
				return err
			}
			off := len(p.arena)
			if escaped {
				p.arena = jsonscan.AppendUnescaped(p.arena, raw)
			} else {
				p.arena = append(p.arena, raw...)
			}
			p.spans[f] = span{int32(off), int32(len(p.arena))}
		case idField(f) && (c == '-' || (c >= '0' && c <= '9')):
			if err := s.num(); err != nil {
				return err
			}
			off := len(p.arena)
			p.arena = append(p.arena, s.Buf[start:s.Pos]...)
			p.spans[f] = span{int32(off), int32(len(p.arena))}
		default:
			reason := "must be a string"
			if idField(f) {
				reason = "must be a string or a number"
			}
			return &Error{Rule: RuleFieldType, Index: -1, Offset: start, Reason: reason}
		}
	case f <= fReceivedAt:
		t, note, err := readTime(s, &p.tmp, m != modeRaw)
		if err != nil {
			return err
		}
		if note != "" {
			e.notes = append(e.notes, fieldNames[f]+": "+note+timeConsequence(f, t))
		}
		p.setTime(f, e, t)
	default:
		start := s.Pos
		if c != '{' {
			return &Error{Rule: RuleFieldType, Index: -1, Offset: start, Reason: "must be an object"}
		}
		if err := s.value(); err != nil {
			return err
		}
		raw := s.Buf[start:s.Pos:s.Pos]
		switch f {
		case fContext:
			e.Context = raw
		case fIntegrations:
			e.Integrations = raw
		case fProperties:
			e.Properties = raw
		case fTraits:
			e.Traits = raw
		}
	}
	return nil
}

func (p *eventParser) setTime(f field, e *Event, t time.Time) {
	switch f {
	case fTimestamp:
		e.Timestamp = t
	case fOriginalTimestamp:
		e.OriginalTimestamp = t
	case fSentAt:
		e.SentAt = t
	case fReceivedAt:
		e.ReceivedAt = t
	}
}
