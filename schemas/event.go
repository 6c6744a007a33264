// Package schemas is sluice's event model: the Segment-spec event, the value
// and key written to the events.raw topic, and the decoder of outside input
// with Segment's rules and limits.
//
// Two decoders share one validating scanner. Decoder.Decode reads tracking
// API request bodies (outside input: every rule and limit applies, errors
// name the rule, the field and the batch index). DecodeRaw reads an
// events.raw value back; it is the hot path of every later stage, so it does
// one pass, aliases the value's bytes for context, integrations, properties
// and traits, and allocates once per event for all its strings.
package schemas

import (
	"encoding/json"
	"time"
)

// Type is a Segment call type.
type Type string

// Call types.
const (
	Track    Type = "track"
	Identify Type = "identify"
	Page     Type = "page"
	Screen   Type = "screen"
	Group    Type = "group"
	Alias    Type = "alias"
)

// Types lists every call type.
var Types = []Type{Track, Identify, Page, Screen, Group, Alias}

// typeOf maps a type's JSON text to its constant without allocating.
func typeOf(b []byte) (Type, bool) {
	switch string(b) {
	case "track":
		return Track, true
	case "identify":
		return Identify, true
	case "page":
		return Page, true
	case "screen":
		return Screen, true
	case "group":
		return Group, true
	case "alias":
		return Alias, true
	}
	return "", false
}

// Valid reports whether t is one of the six call types.
func (t Type) Valid() bool {
	switch t {
	case Track, Identify, Page, Screen, Group, Alias:
		return true
	}
	return false
}

// Event is one Segment call as sluice keeps it: the fields Segment defines,
// the objects the sender wrote kept byte for byte, and sluice's envelope
// (Workspace, Source, ReceivedAt). Empty strings, zero times and nil raw
// messages mean absent.
type Event struct {
	Type      Type
	MessageID string
	// UserID and AnonymousID identify the user; at least one is set. Numbers
	// sent as ids are kept as their JSON text.
	UserID      string
	AnonymousID string
	// Event names a track call.
	Event string
	// Name and Category name a page or screen.
	Name     string
	Category string
	// GroupID is the group of a group call.
	GroupID string
	// PreviousID is the id an alias call merges into UserID.
	PreviousID string

	// Timestamp is when the event happened, corrected for the sender's clock
	// skew: ReceivedAt − (SentAt − OriginalTimestamp); ReceivedAt when the
	// sender gave no timestamp.
	Timestamp time.Time
	// OriginalTimestamp is the timestamp as the sender wrote it.
	OriginalTimestamp time.Time
	// SentAt is when the sender says it sent the event (item or batch level).
	SentAt time.Time
	// ReceivedAt is when the API received the request.
	ReceivedAt time.Time

	// Context, Integrations, Properties and Traits are JSON objects exactly
	// as sent (batch-level context and integrations merged in, see Decoder).
	Context      json.RawMessage
	Integrations json.RawMessage
	Properties   json.RawMessage
	Traits       json.RawMessage

	// Workspace and Source are the envelope: the tenant and the source
	// (config name) whose write key sent the event.
	Workspace string
	Source    string

	// notes are what the decoder normalised, until finish writes them to
	// Context (NotesMember).
	notes []string
}

// User returns the id the event is keyed by: UserID, else AnonymousID.
func (e *Event) User() string {
	if e.UserID != "" {
		return e.UserID
	}
	return e.AnonymousID
}

// AppendKey appends the event's Kafka key, "workspace/userId" or else
// "workspace/anonymousId", so one user's events stay on one partition.
func (e *Event) AppendKey(dst []byte) []byte {
	dst = append(dst, e.Workspace...)
	dst = append(dst, '/')
	return append(dst, e.User()...)
}

// Key returns the event's Kafka key; see AppendKey.
func (e *Event) Key() string { return e.Workspace + "/" + e.User() }
