package sinktest

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
)

// Workspace is the workspace of the events Events makes.
const Workspace = "acme"

// Users is how many distinct users Events spreads its events over.
const Users = 7

// Events returns n events of every call type, as the router writes them to a
// dest.<name> topic: message ids "<tag>-<i>", users "user-<i mod Users>"
// (every fifth anonymous only, "anon-<i mod Users>"), times around a fixed
// instant, and context, properties and traits objects.
func Events(tag string, n int) []schemas.Event {
	base := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	out := make([]schemas.Event, n)
	for i := range out {
		u := i % Users
		e := schemas.Event{
			MessageID:   fmt.Sprintf("%s-%d", tag, i),
			Workspace:   Workspace,
			Source:      "web",
			AnonymousID: fmt.Sprintf("anon-%d", u),
			ReceivedAt:  base.Add(time.Duration(i) * time.Second),
		}
		if i%5 != 4 {
			e.UserID = fmt.Sprintf("user-%d", u)
		}
		e.Timestamp = e.ReceivedAt.Add(-300 * time.Millisecond)
		e.OriginalTimestamp = e.Timestamp.Add(2 * time.Second)
		e.SentAt = e.ReceivedAt.Add(2 * time.Second)
		e.Context = json.RawMessage(fmt.Sprintf(`{"library":{"name":"analytics.js","version":"4.1.0"},"ip":"10.0.0.%d","locale":"en-US","page":{"path":"/p/%d","url":"https://shop.acme.example/p/%d"}}`, u, i, i))
		switch schemas.Types[i%len(schemas.Types)] {
		case schemas.Track:
			e.Type, e.Event = schemas.Track, "Product Viewed"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"product_id":"sku-%d","price":%d.5,"currency":"EUR"}`, i, i%100))
		case schemas.Identify:
			e.Type = schemas.Identify
			e.Traits = json.RawMessage(fmt.Sprintf(`{"email":"user%d@acme.example","plan":"pro","logins":%d}`, u, i))
		case schemas.Page:
			e.Type, e.Name, e.Category = schemas.Page, "Product", "Shop"
			e.Properties = json.RawMessage(fmt.Sprintf(`{"path":"/p/%d","title":"Product %d"}`, i, i))
		case schemas.Screen:
			e.Type, e.Name = schemas.Screen, "Cart"
			e.Properties = json.RawMessage(`{"items":2}`)
		case schemas.Group:
			e.Type, e.GroupID = schemas.Group, fmt.Sprintf("org-%d", u%3)
			e.Traits = json.RawMessage(`{"name":"Acme Org","employees":42}`)
		case schemas.Alias:
			e.Type, e.PreviousID = schemas.Alias, e.AnonymousID
			if e.UserID == "" {
				e.UserID = fmt.Sprintf("user-%d", u)
			}
		}
		out[i] = e
	}
	return out
}

// NewBatch makes a batch of events at consecutive offsets from first.
func NewBatch(topic string, partition int32, first int64, events []schemas.Event) sinks.Batch {
	offsets := make([]int64, len(events))
	for i := range offsets {
		offsets[i] = first + int64(i)
	}
	last := first + int64(len(events)) - 1
	if len(events) == 0 {
		last = first
	}
	return sinks.Batch{Topic: topic, Partition: partition, FirstOffset: first, LastOffset: last, Events: events, Offsets: offsets}
}

// Slice returns the part of b holding events [i, j), bounded by their offsets.
func Slice(b sinks.Batch, i, j int) sinks.Batch {
	return sinks.Batch{Topic: b.Topic, Partition: b.Partition, FirstOffset: b.Offsets[i], LastOffset: b.Offsets[j-1],
		Events: b.Events[i:j], Offsets: b.Offsets[i:j]}
}

// IDs returns the message ids of events.
func IDs(events []schemas.Event) []string {
	out := make([]string, len(events))
	for i := range events {
		out[i] = events[i].MessageID
	}
	return out
}
