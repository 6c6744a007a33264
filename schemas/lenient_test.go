package schemas

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestBatchItemsJudgedAlone: in a well-formed batch each item breaks only
// its own rules; the good items are decoded, the refused ones listed with
// their index, messageId and rule.
func TestBatchItemsJudgedAlone(t *testing.T) {
	good := `{"type":"track","event":"e","userId":"u"}`
	tooDeep := strings.Repeat(`[`, 128) + strings.Repeat(`]`, 128)
	bigProps := `{"p":"` + strings.Repeat("x", DefaultMaxEventBytes) + `"}`
	for _, tc := range []struct {
		name  string
		item  string
		rule  Rule
		field string
		msgID string
	}{
		{"without type", `{"event":"e","userId":"u","messageId":"m1"}`, RuleInvalidType, "type", "m1"},
		{"null type", `{"type":null,"event":"e","userId":"u"}`, RuleInvalidType, "type", ""},
		{"unknown type", `{"type":"trak","event":"e","userId":"u","messageId":"m2"}`, RuleInvalidType, "type", "m2"},
		{"not an object", `"x"`, RuleInvalidJSON, "", ""},
		{"an array", `[{"type":"track"}]`, RuleInvalidJSON, "", ""},
		{"no identity", `{"type":"identify","traits":{},"messageId":"m3"}`, RuleMissingIdentity, "userId", "m3"},
		{"track without event", `{"type":"track","userId":"u","messageId":"m4"}`, RuleMissingField, "event", "m4"},
		{"group without groupId", `{"type":"group","userId":"u"}`, RuleMissingField, "groupId", ""},
		{"too deep", `{"type":"track","event":"e","userId":"u","properties":{"a":` + tooDeep + `},"messageId":"m5"}`, RuleTooDeep, "properties", "m5"},
		{"far too deep", `{"type":"track","messageId":"m6","properties":{"a":` + strings.Repeat(`[`, 15000) + strings.Repeat(`]`, 15000) + `}}`, RuleTooDeep, "properties", "m6"},
		{"too large", `{"type":"track","event":"e","userId":"u","properties":` + bigProps + `}`, RuleEventTooLarge, "", ""},
		{"invalid utf8", "{\"type\":\"track\",\"event\":\"\xff\",\"userId\":\"u\"}", RuleInvalidUTF8, "event", ""},
		{"float overflow", `{"type":"track","event":"e","userId":"u","properties":{"n":1e400}}`, RuleNumberRange, "properties", ""},
		{"wrong field type", `{"type":"track","event":"e","userId":"u","properties":[]}`, RuleFieldType, "properties", ""},
		{"duplicate field", `{"type":"track","event":"e","userId":"u","userId":"v"}`, RuleDuplicateField, "userId", ""},
		{"messageId too long", `{"type":"track","event":"e","userId":"u","messageId":"` + strings.Repeat("m", 101) + `"}`, RuleMessageIDTooLong, "messageId", strings.Repeat("m", 100)},
		{"messageId not a string", `{"type":"track","event":"e","userId":"u","messageId":7}`, RuleFieldType, "messageId", ""},
		{"type mismatch is fine in a batch, identity is not", `{"type":"alias","userId":"u"}`, RuleMissingField, "previousId", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"batch":[` + good + `,` + tc.item + `,` + good + `],"context":{"library":{"name":"x"}}}`
			var d Decoder
			var p Payload
			if err := d.Decode([]byte(body), Call{ReceivedAt: received}, &p); err != nil {
				t.Fatalf("the batch was refused whole: %v", err)
			}
			if len(p.Events) != 2 || len(p.Refused) != 1 {
				t.Fatalf("%d events, %d refused; want 2 and 1", len(p.Events), len(p.Refused))
			}
			r := p.Refused[0]
			if r.Index != 1 || r.Err.Index != 1 || r.Err.Rule != tc.rule || r.Err.Field != tc.field || r.MessageID != tc.msgID {
				t.Fatalf("refusal index=%d rule=%s field=%q messageId=%q (%v); want 1 %s %q %q",
					r.Index, r.Err.Rule, r.Err.Field, r.MessageID, r.Err, tc.rule, tc.field, tc.msgID)
			}
			if string(r.Item) != tc.item && !strings.Contains(tc.item, `\u`) {
				t.Fatalf("refused item bytes %.80q, want the item as sent", r.Item)
			}
			for _, e := range p.Events {
				if string(e.Context) != `{"library":{"name":"x"}}` {
					t.Errorf("good item context %s", e.Context)
				}
			}
		})
	}
	t.Run("every item refused", func(t *testing.T) {
		var d Decoder
		var p Payload
		if err := d.Decode([]byte(`{"batch":[{"type":"track"},1]}`), Call{ReceivedAt: received}, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Events) != 0 || len(p.Refused) != 2 {
			t.Fatalf("%d events, %d refused", len(p.Events), len(p.Refused))
		}
	})
}

// TestDecodeLenient has one case per form Segment accepts that sluice once
// refused: each is accepted, normalised as documented, and noted where it
// changes what was sent.
func TestDecodeLenient(t *testing.T) {
	at := func(s string) time.Time {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			panic(err)
		}
		return t
	}
	deep := strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)
	for _, tc := range []struct {
		name     string
		typ      Type
		body     string
		original time.Time // zero: none
		sentAt   time.Time
		check    func(e Event) string // "" when fine
		notes    []string
	}{
		{name: "integer beyond int64 kept as written", typ: Track,
			body:  `{"event":"e","userId":"u","properties":{"n":9223372036854775808,"m":-12345678901234567890123}}`,
			check: props(`{"n":9223372036854775808,"m":-12345678901234567890123}`)},
		{name: "userId beyond int64 kept as its text", typ: Track, body: `{"event":"e","userId":99999999999999999999}`,
			check: func(e Event) string { return want(e.UserID, "99999999999999999999") }},
		{name: "lone high surrogate", typ: Track, body: `{"event":"\ud800","userId":"u"}`,
			check: func(e Event) string { return want(e.Event, "\uFFFD") },
			notes: []string{"event: a lone UTF-16 surrogate escape replaced by U+FFFD"}},
		{name: "lone low surrogate in properties", typ: Track, body: `{"event":"e","userId":"u","properties":{"a":"\udc00x","\ud800":"\ud83d\ude00"}}`,
			check: props(`{"a":"\ufffdx","\ufffd":"\ud83d\ude00"}`),
			notes: []string{"properties: 2 lone UTF-16 surrogate escapes replaced by U+FFFD"}},
		{name: "high then non-low", typ: Track, body: `{"event":"\ud800\u0041","userId":"u"}`,
			check: func(e Event) string { return want(e.Event, "\uFFFDA") },
			notes: []string{"event: a lone UTF-16 surrogate escape replaced by U+FFFD"}},
		{name: "surrogate in batch context", typ: "", body: `{"batch":[{"type":"track","event":"e","userId":"u"}],"context":{"t":"\udfff"}}`,
			check: func(e Event) string { return want(string(e.Context[:13]), `{"t":"\ufffd"`) },
			notes: []string{"context (batch): a lone UTF-16 surrogate escape replaced by U+FFFD"}},
		{name: "one-digit month", typ: Track, body: `{"event":"e","userId":"u","timestamp":"2015-2-02T00:30:08.276Z"}`,
			original: at("2015-02-02T00:30:08.276Z"),
			notes:    []string{`timestamp: read "2015-2-02T00:30:08.276Z" as 2015-02-02T00:30:08.276Z`}},
		{name: "no zone is UTC", typ: Track, body: `{"event":"e","userId":"u","timestamp":"2024-01-02T03:04:05"}`,
			original: at("2024-01-02T03:04:05Z"),
			notes:    []string{`timestamp: read "2024-01-02T03:04:05" as 2024-01-02T03:04:05Z (no zone: UTC)`}},
		{name: "space and no seconds", typ: Track, body: `{"event":"e","userId":"u","timestamp":"2024-01-02 3:04+0200"}`,
			original: at("2024-01-02T01:04:00Z"),
			notes:    []string{`timestamp: read "2024-01-02 3:04+0200" as 2024-01-02T01:04:00Z`}},
		{name: "date alone", typ: Track, body: `{"event":"e","userId":"u","timestamp":"2024-01-02"}`,
			original: at("2024-01-02T00:00:00Z"),
			notes:    []string{`timestamp: read "2024-01-02" as 2024-01-02T00:00:00Z (a date alone: midnight UTC)`}},
		{name: "epoch milliseconds", typ: Track, body: `{"event":"e","userId":"u","timestamp":1700000000123}`,
			original: at("2023-11-14T22:13:20.123Z"),
			notes:    []string{`timestamp: read 1700000000123 as 2023-11-14T22:13:20.123Z (milliseconds since the epoch)`}},
		{name: "epoch seconds", typ: Track, body: `{"event":"e","userId":"u","timestamp":1700000000.5}`,
			original: at("2023-11-14T22:13:20.5Z"),
			notes:    []string{`timestamp: read 1700000000.5 as 2023-11-14T22:13:20.500Z (seconds since the epoch)`}},
		{name: "epoch in a string", typ: Track, body: `{"event":"e","userId":"u","timestamp":"1700000000"}`,
			original: at("2023-11-14T22:13:20Z"),
			notes:    []string{`timestamp: read "1700000000" as 2023-11-14T22:13:20Z (seconds since the epoch)`}},
		{name: "JavaScript toUTCString", typ: Track, body: `{"event":"e","userId":"u","timestamp":"Mon, 02 Feb 2015 00:30:08 GMT"}`,
			original: at("2015-02-02T00:30:08Z"),
			notes:    []string{`timestamp: read "Mon, 02 Feb 2015 00:30:08 GMT" as 2015-02-02T00:30:08Z`}},
		{name: "garbage timestamp falls back to receivedAt", typ: Track, body: `{"event":"e","userId":"u","timestamp":"yesterday"}`,
			check: func(e Event) string { return wantTime(e.Timestamp, received) },
			notes: []string{`timestamp: "yesterday" is not a date-time; receivedAt used`}},
		{name: "impossible day", typ: Track, body: `{"event":"e","userId":"u","timestamp":"2023-02-29T03:04:05Z"}`,
			check: func(e Event) string { return wantTime(e.Timestamp, received) },
			notes: []string{`timestamp: "2023-02-29T03:04:05Z" is not a date-time; receivedAt used`}},
		{name: "timestamp of the wrong type", typ: Track, body: `{"event":"e","userId":"u","timestamp":true}`,
			check: func(e Event) string { return wantTime(e.Timestamp, received) },
			notes: []string{`timestamp: a JSON boolean is not a date-time; receivedAt used`}},
		{name: "negative epoch", typ: Track, body: `{"event":"e","userId":"u","timestamp":-5}`,
			notes: []string{`timestamp: -5 is not a date-time; receivedAt used`}},
		{name: "garbage sentAt ignored", typ: Track, body: `{"event":"e","userId":"u","timestamp":"2024-05-06T07:00:00Z","sentAt":"2024-13-01T00:00:00Z"}`,
			original: at("2024-05-06T07:00:00Z"),
			check:    func(e Event) string { return wantTime(e.Timestamp, at("2024-05-06T07:00:00Z")) },
			notes:    []string{`sentAt: "2024-13-01T00:00:00Z" is not a date-time; ignored, so no clock-skew correction`}},
		{name: "garbage batch sentAt", typ: "", body: `{"batch":[{"type":"track","event":"e","userId":"u"}],"sentAt":"now"}`,
			notes: []string{`sentAt (batch): "now" is not a date-time; ignored, so no clock-skew correction`}},
		{name: "lenient batch sentAt", typ: "", body: `{"batch":[{"type":"track","event":"e","userId":"u","timestamp":"2024-05-06T08:08:07Z"}],"sentAt":"2024-05-06T08:08:09"}`,
			sentAt: at("2024-05-06T08:08:09Z"), original: at("2024-05-06T08:08:07Z"),
			check: func(e Event) string { return wantTime(e.Timestamp, received.Add(-2*time.Second)) },
			notes: []string{`sentAt (batch): read "2024-05-06T08:08:09" as 2024-05-06T08:08:09Z (no zone: UTC)`}},
		{name: "nesting of 100 levels", typ: Track, body: `{"event":"e","userId":"u","properties":` + deep + `}`},
		{name: "notes replace a sent context.sluice", typ: Track, body: `{"event":"e","userId":"u","timestamp":"x","context":{"sluice":{"a":1},"ip":"1.2.3.4"}}`,
			check: func(e Event) string {
				return want(string(e.Context), `{"ip":"1.2.3.4","sluice":{"notes":["timestamp: \"x\" is not a date-time; receivedAt used"]}}`)
			},
			notes: []string{`timestamp: "x" is not a date-time; receivedAt used`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decode(t, tc.typ, tc.body)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if len(p.Events) != 1 {
				t.Fatalf("%d events, %d refused (%v)", len(p.Events), len(p.Refused), p.Refused)
			}
			e := p.Events[0]
			if !e.OriginalTimestamp.Equal(tc.original) {
				t.Errorf("originalTimestamp %v, want %v", e.OriginalTimestamp, tc.original)
			}
			if !tc.sentAt.IsZero() && !e.SentAt.Equal(tc.sentAt) {
				t.Errorf("sentAt %v, want %v", e.SentAt, tc.sentAt)
			}
			if tc.check != nil {
				if msg := tc.check(e); msg != "" {
					t.Error(msg)
				}
			}
			got := Notes(e.Context)
			if strings.Join(got, "\n") != strings.Join(tc.notes, "\n") {
				t.Errorf("notes %q, want %q", got, tc.notes)
			}
			if e.Context != nil && !json.Valid(e.Context) {
				t.Errorf("context %s is not JSON", e.Context)
			}
			// What the decoder accepts, events.raw reads back unchanged.
			e.Workspace, e.Source = "w", "s"
			var back Event
			if err := DecodeRaw(e.AppendRaw(nil), &back); err != nil || !eventsEqual(back, e) {
				t.Errorf("events.raw round trip: %v\n got %+v\nwant %+v", err, back, e)
			}
		})
	}
}

func props(wantProps string) func(Event) string {
	return func(e Event) string { return want(string(e.Properties), wantProps) }
}

func want(got, want string) string {
	if got != want {
		return "got " + got + ", want " + want
	}
	return ""
}

func wantTime(got, want time.Time) string {
	if !got.Equal(want) {
		return "timestamp " + got.String() + ", want " + want.String()
	}
	return ""
}

func TestParseTimeLenientTable(t *testing.T) {
	for in, out := range map[string]string{
		"2015-2-2":                  "2015-02-02T00:00:00Z",
		"2015-02-02T00:30":          "2015-02-02T00:30:00Z",
		"2015-02-02t00:30:08,5z":    "2015-02-02T00:30:08.5Z",
		"2015-02-02T00:30:08-05":    "2015-02-02T05:30:08Z",
		"2015-02-02T00:30:08+05:30": "2015-02-01T19:00:08Z",
		"Mon Feb 02 2015 01:30:08 GMT+0100 (Central European Standard Time)": "",
		"Mon Feb 02 2015 01:30:08 GMT+0100":                                  "2015-02-02T00:30:08Z",
		"1700000000000":                                                      "2023-11-14T22:13:20Z",
		"":                                                                   "",
		"2015-02-02T":                                                        "",
		"2015-02-02T24:00":                                                   "",
		"2015-02-02T00:30:08+05:":                                            "",
		"2015-02-02T00:30:08.":                                               "",
		"2015-02-30":                                                         "",
		"99999999999999999999999":                                            "",
		"2015-02-02T00:30:08Z junk":                                          "",
	} {
		got, _, ok := parseTimeLenient([]byte(in))
		if out == "" {
			if ok {
				t.Errorf("%q: read as %v, want refused", in, got)
			}
			continue
		}
		wantT, _ := time.Parse(time.RFC3339Nano, out)
		if !ok || !got.Equal(wantT) {
			t.Errorf("%q: %v %v, want %v", in, got, ok, wantT)
		}
	}
}

func TestSetMember(t *testing.T) {
	for _, tc := range []struct{ obj, key, value, want string }{
		{``, "ip", `"1.2.3.0"`, `{"ip":"1.2.3.0"}`},
		{`{}`, "ip", `"x"`, `{"ip":"x"}`},
		{`{ "a" : 1 , "ip" : null, "b":[1,{"ip":2}] }`, "ip", `"x"`, `{"a" : 1,"b":[1,{"ip":2}],"ip":"x"}`},
		{`{"\u0069p":"y","z":{}}`, "ip", `"x"`, `{"z":{},"ip":"x"}`},
	} {
		if got := string(SetMember([]byte(tc.obj), tc.key, []byte(tc.value))); got != tc.want {
			t.Errorf("SetMember(%s, %s): %s, want %s", tc.obj, tc.key, got, tc.want)
		}
	}
	if v, ok := MemberString([]byte(`{"ip":"1\u002e2","ip2":3}`), "ip"); !ok || v != "1.2" {
		t.Errorf("MemberString %q %v", v, ok)
	}
}
