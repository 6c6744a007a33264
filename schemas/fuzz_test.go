package schemas

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	`{"userId":"u","event":"e","properties":{"a":[1,2.5,"x",null,true]}}`,
	`{"anonymousId":"a","traits":{"e":"\u00e9\ud83d\ude00"},"timestamp":"2024-01-02T03:04:05.678Z","sentAt":"2024-01-02T03:04:06Z"}`,
	`{"batch":[{"type":"track","userId":"u","event":"e"},{"type":"alias","userId":"u","previousId":"p"}],"context":{"ip":"1"},"integrations":{"A":true},"writeKey":"k","sentAt":"2024-01-02T03:04:06Z"}`,
	`{"batch":[{"type":"group","userId":1,"groupId":2,"context":{"x":1}}],"context":{"x":2,"y":[{}]}}`,
	`{"type":"page","userId":"u","name":"n","category":"c","messageId":"m"}`,
	`{"batch":[]}`, `[]`, `{"a":1e400}`, `{"userId":"\ud800"}`, "{\"userId\":\"\xff\"}",
	`{"batch":[{"type":"track","userId":"u"},{"type":"page","anonymousId":"\udc00\ud800x","messageId":"m"},7],"sentAt":"2015-2-02"}`,
	`{"userId":"u","event":"e","timestamp":"2015-2-02T00:30:08.276","sentAt":1700000000000,"properties":{"n":123456789012345678901234567890}}`,
	`{"userId":"u","event":"e","timestamp":{"x":1},"context":{"sluice":1,"ip":"1.2.3.4"}}`,
}

// FuzzDecode feeds arbitrary bodies to the request decoder as a single call
// and as a batch. It must never panic; whatever it accepts must respect the
// rules and survive the trip through events.raw unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
	}
	d := Decoder{Limits: Limits{MaxDepth: 8, MaxBatchEvents: 20, MaxEventBytes: 4096, MaxBatchBytes: 16384}}
	f.Fuzz(func(t *testing.T, body []byte, route uint8) {
		call := Call{Type: "", ReceivedAt: received}
		if route%7 != 0 {
			call.Type = Types[int(route%7)-1]
		}
		var p Payload
		err := d.Decode(body, call, &p)
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if len(p.Events) != 0 {
				t.Fatalf("refused body left events")
			}
			_ = de.Error()
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if len(p.Events)+len(p.Refused) == 0 {
			t.Fatalf("accepted a body without events")
		}
		for _, r := range p.Refused {
			if call.Type != "" || r.Err == nil || r.Err.Index != r.Index || len(r.Item) == 0 || !utf8.ValidString(r.MessageID) {
				t.Fatalf("refusal %+v", r)
			}
		}
		for i := range p.Events {
			e := &p.Events[i]
			if !e.Type.Valid() || (call.Type != "" && e.Type != call.Type) {
				t.Fatalf("event %d type %q", i, e.Type)
			}
			if e.UserID == "" && e.AnonymousID == "" {
				t.Fatalf("event %d without identity", i)
			}
			if e.MessageID == "" || utf8.RuneCountInString(e.MessageID) > 100 {
				t.Fatalf("event %d messageId %q", i, e.MessageID)
			}
			for _, raw := range [][]byte{e.Context, e.Integrations, e.Properties, e.Traits} {
				if raw != nil && (!json.Valid(raw) || raw[0] != '{') {
					t.Fatalf("event %d raw field %q is not an object", i, raw)
				}
			}
			e.Workspace, e.Source = "w", "s"
			value := e.AppendRaw(nil)
			var back Event
			if err := DecodeRaw(value, &back); err != nil {
				t.Fatalf("DecodeRaw(%s): %v", value, err)
			}
			if !eventsEqual(back, *e) {
				t.Fatalf("round trip changed the event:\n got %+v\nwant %+v", back, *e)
			}
		}
	})
}

// FuzzDecodeRaw feeds arbitrary values to the events.raw decoder, which
// later stages run on whatever the topic holds. It must never panic, and what
// it accepts must encode back to a value it accepts again unchanged.
func FuzzDecodeRaw(f *testing.F) {
	e := fullEvent()
	f.Add(e.AppendRaw(nil))
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		var e Event
		if err := DecodeRaw(value, &e); err != nil {
			return
		}
		again := e.AppendRaw(nil)
		var back Event
		if err := DecodeRaw(again, &back); err != nil {
			t.Fatalf("re-encoded value %s: %v", again, err)
		}
		if !eventsEqual(back, e) {
			t.Fatalf("re-encoding changed the event:\n got %+v\nwant %+v", back, e)
		}
	})
}
