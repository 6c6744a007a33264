package topics

import "time"

// DeadLetterValue is the plaintext value of a deadletter record (sealed on the
// topic under its subject's data key: package processors/shred). Three
// roles write it, each filling its own fields, and package
// topology/deadletters reads it back:
//
//   - the sink (topology/delivery): Destination, Reason, Error, Attempts,
//     the place of the dest.<name> record and its value in Event;
//   - the router (topology/router): Reason, the place of the events.raw
//     record and its value in Value;
//   - the api (topology/api): Reason, Code and the fields after it, for
//     refused input that never became an event.
//
// Which of Destination, Code and Position is set says which role wrote it.
type DeadLetterValue struct {
	// Destination is the destination that never got the event (sink).
	Destination string `json:"destination,omitempty"`
	// Reason is the failure's detail (sink), the router's reason, or the
	// api's error message.
	Reason string `json:"reason"`
	// Error is the destination's last error (sink).
	Error string `json:"error,omitempty"`
	// Attempts is how many times the destination was tried (sink).
	Attempts int `json:"attempts,omitempty"`
	// Position is where the refused record was consumed (sink, router).
	*Position
	// Event is the dest.<name> value the destination refused (sink).
	Event string `json:"event,omitempty"`
	// Value is the events.raw value the router could not process.
	Value string `json:"value,omitempty"`

	// Code and Status are the api's error code and HTTP status.
	Code   string `json:"code,omitempty"`
	Status int    `json:"status,omitempty"`
	// Index is the refused item's place in a batch; nil for a whole request.
	Index *int `json:"index,omitempty"`
	// MessageID is the refused item's messageId, when it had one.
	MessageID string `json:"messageId,omitempty"`
	// Field is the JSON path of the offending field, when one is to blame.
	Field      string     `json:"field,omitempty"`
	Workspace  string     `json:"workspace,omitempty"`
	Source     string     `json:"source,omitempty"`
	Route      string     `json:"route,omitempty"`
	ReceivedAt *time.Time `json:"receivedAt,omitempty"`
	// BodyBytes is the request body's size, Body its first bytes, and
	// Truncated whether that is not all of it (always set by the api).
	BodyBytes int    `json:"bodyBytes,omitempty"`
	Body      string `json:"body,omitempty"`
	Truncated *bool  `json:"truncated,omitempty"`
}

// Position is a record's place in a topic.
type Position struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}
