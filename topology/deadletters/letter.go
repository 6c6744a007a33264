package deadletters

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

// Origin says which role wrote a dead letter.
type Origin string

// Origins of dead letters.
const (
	// OriginSink: a destination refused an event for good, or its retries
	// ran out. The only dead letters a replay re-delivers.
	OriginSink Origin = "sink"
	// OriginRouter: an events.raw record the router could not process.
	OriginRouter Origin = "router"
	// OriginAPI: refused input of the tracking API (a request body or one
	// item of a batch), which never became an event.
	OriginAPI Origin = "api"
)

// valid reports whether o is one of the origins.
func (o Origin) valid() bool { return o == OriginSink || o == OriginRouter || o == OriginAPI }

// Position is a record's place in a topic.
type Position = topics.Position

// Letter is one readable dead letter's metadata: where it came from and
// why, never the event's properties, traits or context (Payload only when
// asked for).
type Letter struct {
	// ID is the letter's place on the deadletter topic, "<partition>/<offset>".
	ID string `json:"id"`
	// At is when the letter was written (its record's timestamp; for the
	// api, when the request was received).
	At     time.Time `json:"at"`
	Origin Origin    `json:"origin"`
	// Destination is the destination that never got the event (sink only).
	Destination string `json:"destination,omitempty"`
	// Reason groups letters: the sink's classification of the failure, the
	// router's reason, or the api's error code.
	Reason string `json:"reason"`
	// Error is the destination's last error (sink) or the api's message.
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts,omitempty"`
	// From is the record that was refused (sink: its dest.<name> record;
	// router: its events.raw record).
	From *Position `json:"from,omitempty"`
	// MessageID, Type and Event (a track call's name) identify the event.
	MessageID string `json:"messageId,omitempty"`
	Type      string `json:"type,omitempty"`
	Event     string `json:"event,omitempty"`
	// Status, Code, Field, Source, Route and BodyBytes describe refused
	// api input.
	Status    int    `json:"status,omitempty"`
	Field     string `json:"field,omitempty"`
	Source    string `json:"source,omitempty"`
	Route     string `json:"route,omitempty"`
	BodyBytes int    `json:"bodyBytes,omitempty"`
	// Replays are the replays that re-delivered this letter, oldest first.
	Replays []string `json:"replays,omitempty"`
	// Payload is the event (sink, router) or the refused body's prefix
	// (api): personal data, present only when asked for.
	Payload string `json:"payload,omitempty"`

	key     []byte      // the record key: the event's, for a replay
	kid     shred.KeyID // the key the letter was sealed under
	payload string      // Payload, kept aside until asked for
	event   schemas.Event
}

// errUnknownShape reports a plaintext that is none of the three kinds.
var errUnknownShape = errors.New("deadletters: not a dead letter of a known kind (sink, router or api)")

// decodeLetter reads a dead letter's plaintext. The event of a sink or
// router letter is decoded for its ids; one that does not decode leaves
// them empty (such a letter is listed, never replayed).
func decodeLetter(plain []byte) (*Letter, error) {
	var w topics.DeadLetterValue
	if err := json.Unmarshal(plain, &w); err != nil {
		return nil, fmt.Errorf("deadletters: %w", err)
	}
	l := &Letter{Reason: w.Reason, Error: w.Error, Attempts: w.Attempts}
	switch {
	case w.Destination != "" && w.Position != nil:
		l.Origin, l.Destination, l.payload = OriginSink, w.Destination, w.Event
	case w.Code != "":
		l.Origin, l.Reason, l.Error, l.payload = OriginAPI, w.Code, w.Reason, w.Body
		l.Status, l.MessageID, l.Field, l.Source, l.Route, l.BodyBytes = w.Status, w.MessageID, w.Field, w.Source, w.Route, w.BodyBytes
		return l, nil
	case w.Position != nil && w.Position.Topic != "":
		l.Origin, l.payload = OriginRouter, w.Value
	default:
		return nil, errUnknownShape
	}
	l.From = w.Position
	if schemas.DecodeRaw([]byte(l.payload), &l.event) == nil {
		l.MessageID, l.Type, l.Event = l.event.MessageID, string(l.event.Type), l.event.Event
	}
	return l, nil
}

// replayable reports whether l can go back to its destination: a sink
// letter whose event decodes.
func (l *Letter) replayable() bool { return l.Origin == OriginSink && l.event.Type != "" }

// letterID is the ID of the letter at partition p, offset o.
func letterID(p int32, o int64) string {
	return strconv.FormatInt(int64(p), 10) + "/" + strconv.FormatInt(o, 10)
}
