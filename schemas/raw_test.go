package schemas

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func fullEvent() Event {
	return Event{
		Type: Track, MessageID: "m-1", UserID: "u\"1\\é", AnonymousID: "a\n1",
		Event: "Order\tCompleted", Name: "n", Category: "c", GroupID: "g", PreviousID: "p",
		Timestamp:         time.Date(2024, 1, 2, 3, 4, 5, 678_000_000, time.UTC),
		OriginalTimestamp: time.Date(2024, 1, 2, 3, 4, 5, 1_000, time.UTC),
		SentAt:            time.Date(2024, 1, 2, 3, 4, 6, 123_456_789, time.UTC),
		ReceivedAt:        time.Date(2024, 1, 2, 3, 4, 7, 0, time.FixedZone("x", 3600)),
		Context:           json.RawMessage(`{"ip":"1.2.3.4"}`),
		Integrations:      json.RawMessage(`{"All":true}`),
		Properties:        json.RawMessage(`{"a":[1,{"b":null}]}`),
		Traits:            json.RawMessage(`{}`),
		Workspace:         "acme", Source: "web",
	}
}

func TestRawRoundTrip(t *testing.T) {
	e := fullEvent()
	raw := e.AppendRaw(nil)
	if !json.Valid(raw) {
		t.Fatalf("invalid JSON: %s", raw)
	}
	var got Event
	if err := DecodeRaw(raw, &got); err != nil {
		t.Fatalf("DecodeRaw(%s): %v", raw, err)
	}
	if !eventsEqual(got, e) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
	// The value is readable by any JSON decoder, with Segment's field names.
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"type": "track", "messageId": "m-1", "userId": "u\"1\\é", "event": "Order\tCompleted",
		"workspace": "acme", "source": "web", "timestamp": "2024-01-02T03:04:05.678Z",
		"originalTimestamp": "2024-01-02T03:04:05.000001Z", "sentAt": "2024-01-02T03:04:06.123456789Z",
		"receivedAt": "2024-01-02T02:04:07Z",
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
}

func TestRawOmitsAbsent(t *testing.T) {
	e := Event{Type: Page, AnonymousID: "a", Workspace: "w"}
	if got, want := string(e.AppendRaw(nil)), `{"type":"page","workspace":"w","anonymousId":"a"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRawInvalidUTF8Replaced(t *testing.T) {
	e := Event{Type: Track, UserID: "a\xffb\x01", Event: "x"}
	raw := e.AppendRaw(nil)
	var got Event
	if err := DecodeRaw(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if got.UserID != "a\uFFFDb\x01" {
		t.Errorf("userId %q", got.UserID)
	}
}

func TestDecodeRawErrors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		rule Rule
	}{
		{``, RuleInvalidJSON},
		{`{"type":"track"`, RuleInvalidJSON},
		{`{"userId":"u"}`, RuleInvalidType},
		{`{"type":"nope"}`, RuleInvalidType},
		{`{"type":"track","timestamp":"x"}`, RuleInvalidTimestamp},
		{`{"type":"track","properties":[]}`, RuleFieldType},
		{`{"type":"track"} {}`, RuleInvalidJSON},
	} {
		var e Event
		err := DecodeRaw([]byte(tc.in), &e)
		var de *Error
		if !errors.As(err, &de) || de.Rule != tc.rule {
			t.Errorf("DecodeRaw(%s) = %v, want %s", tc.in, err, tc.rule)
		}
	}
}

func TestDecodeRawSkipsUnknownAndResets(t *testing.T) {
	e := fullEvent()
	err := DecodeRaw([]byte(`{"type":"identify","futureField":{"x":[1,2]},"userId":"u2"}`), &e)
	if err != nil {
		t.Fatal(err)
	}
	if e.UserID != "u2" || e.Event != "" || e.Context != nil || !e.Timestamp.IsZero() {
		t.Errorf("fields of the previous event kept: %+v", e)
	}
}

func TestKey(t *testing.T) {
	e := Event{Workspace: "acme", UserID: "u1", AnonymousID: "a1"}
	if e.Key() != "acme/u1" || string(e.AppendKey(nil)) != "acme/u1" {
		t.Errorf("key %q", e.Key())
	}
	e.UserID = ""
	if e.Key() != "acme/a1" {
		t.Errorf("key %q", e.Key())
	}
}

// TestDecodeRawAllocs holds the hot path to one allocation per event (its
// strings); raw fields alias the value.
func TestDecodeRawAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	e := fullEvent()
	raw := e.AppendRaw(nil)
	var got Event
	allocs := testing.AllocsPerRun(100, func() {
		if err := DecodeRaw(raw, &got); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 1 {
		t.Errorf("DecodeRaw allocates %.0f times per event, want at most 1", allocs)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"2024-01-02T03:04:05Z":            time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		"2024-01-02T03:04:05.5Z":          time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.UTC),
		"2024-01-02t03:04:05.123456789z":  time.Date(2024, 1, 2, 3, 4, 5, 123_456_789, time.UTC),
		"2024-01-02T03:04:05.1234567891Z": time.Date(2024, 1, 2, 3, 4, 5, 123_456_789, time.UTC),
		"2024-01-02T03:04:05+02:00":       time.Date(2024, 1, 2, 1, 4, 5, 0, time.UTC),
		"2024-01-02T03:04:05-0130":        time.Date(2024, 1, 2, 4, 34, 5, 0, time.UTC),
		"2024-01-02T03:04:05.000+05":      time.Date(2024, 1, 1, 22, 4, 5, 0, time.UTC),
		"2024-02-29T00:00:00Z":            time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
	} {
		got, ok := parseTime([]byte(in))
		if !ok || !got.Equal(want) {
			t.Errorf("parseTime(%s) = %v %v, want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{
		"", "2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04:05Z", "2024-00-02T03:04:05Z",
		"2024-01-32T03:04:05Z", "2023-02-29T03:04:05Z", "2024-01-02T24:00:00Z", "2024-01-02T03:60:05Z",
		"2024-01-02T03:04:60Z", "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05+2:00", "2024-01-02T03:04:05Zx",
		"2024-01-02T03:04:05+24:00", "20x4-01-02T03:04:05Z", "1700000000",
	} {
		if got, ok := parseTime([]byte(in)); ok {
			t.Errorf("parseTime(%q) = %v, want failure", in, got)
		}
	}
}

func TestAppendTime(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "2024-01-02T03:04:05Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 7_000_000, time.UTC), "2024-01-02T03:04:05.007Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 7_000, time.UTC), "2024-01-02T03:04:05.000007Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 7, time.UTC), "2024-01-02T03:04:05.000000007Z"},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", -3600)), "2024-01-02T04:04:05Z"},
		{time.Date(12024, 1, 2, 3, 4, 5, 0, time.UTC), "12024-01-02T03:04:05Z"},
	} {
		if got := string(appendTime(nil, tc.t)); got != tc.want {
			t.Errorf("appendTime(%v) = %s, want %s", tc.t, got, tc.want)
		}
	}
}
