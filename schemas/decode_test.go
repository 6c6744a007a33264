package schemas

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

var received = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)

func decode(t *testing.T, typ Type, body string) (Payload, error) {
	t.Helper()
	var d Decoder
	var p Payload
	err := d.Decode([]byte(body), Call{Type: typ, ReceivedAt: received}, &p)
	return p, err
}

// TestDecodeRules has one case per rule of the decoder; each must fail with
// that rule, at that item and field.
func TestDecodeRules(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 127) + `1` + strings.Repeat(`}`, 127) // event + 127 = 128 levels
	tooDeep := strings.Repeat(`[`, 128) + strings.Repeat(`]`, 128)
	bigProps := `{"p":"` + strings.Repeat("x", DefaultMaxEventBytes) + `"}`
	manyItems := `{"batch":[` + strings.Repeat(`{"type":"track","event":"e","userId":"u"},`, DefaultMaxBatchEvents) +
		`{"type":"track","event":"e","userId":"u"}]}`
	for _, tc := range []struct {
		name  string
		typ   Type
		body  string
		rule  Rule
		index int
		field string
	}{
		// JSON and encoding
		{"not json", Track, `hello`, RuleInvalidJSON, -1, ""},
		{"empty body", Track, ``, RuleInvalidJSON, -1, ""},
		{"array body", Track, `[]`, RuleInvalidJSON, -1, ""},
		{"batch body not object", "", `[1]`, RuleInvalidJSON, -1, ""},
		{"trailing data", Track, `{"event":"e","userId":"u"} x`, RuleInvalidJSON, -1, ""},
		{"two objects", Track, `{"event":"e","userId":"u"}{}`, RuleInvalidJSON, -1, ""},
		{"unterminated", Track, `{"event":"e","userId":"u"`, RuleInvalidJSON, -1, ""},
		{"trailing comma", Track, `{"event":"e","userId":"u",}`, RuleInvalidJSON, -1, ""},
		{"bad escape", Track, `{"event":"\x","userId":"u"}`, RuleInvalidJSON, -1, "event"},
		{"control char", Track, "{\"event\":\"a\tb\",\"userId\":\"u\"}", RuleInvalidJSON, -1, "event"},
		{"leading zero", Track, `{"event":"e","userId":"u","properties":{"n":01}}`, RuleInvalidJSON, -1, "properties"},
		{"invalid utf8 value", Track, "{\"event\":\"\xff\",\"userId\":\"u\"}", RuleInvalidUTF8, -1, "event"},
		{"invalid utf8 nested", Track, "{\"event\":\"e\",\"userId\":\"u\",\"properties\":{\"k\":[\"\xc3\x28\"]}}", RuleInvalidUTF8, -1, "properties"},
		{"invalid utf8 key", Track, "{\"event\":\"e\",\"userId\":\"u\",\"\xed\xa0\x80\":1}", RuleInvalidUTF8, -1, ""},
		// depth
		{"too deep", Track, `{"event":"e","userId":"u","properties":{"a":` + tooDeep + `}}`, RuleTooDeep, -1, "properties"},
		// numbers
		{"float overflow", Track, `{"event":"e","userId":"u","properties":{"n":1e309}}`, RuleNumberRange, -1, "properties"},
		{"integer beyond float64", Track, `{"event":"e","userId":"u","properties":{"n":1` + strings.Repeat("0", 400) + `}}`, RuleNumberRange, -1, "properties"},
		{"item syntax breaks the batch", "", `{"batch":[{"type":"track","event":"e","userId":"u"},{"type":"track",]}`, RuleInvalidJSON, 1, ""},
		{"invalid utf8 in batch context", "", "{\"batch\":[{\"type\":\"track\",\"event\":\"e\",\"userId\":\"u\"}],\"context\":{\"a\":\"\xff\"}}", RuleInvalidUTF8, -1, "context"},
		{"timestamp object", Track, `{"event":"e","userId":"u","timestamp":{"a":"\x"}}`, RuleInvalidJSON, -1, "timestamp"},
		{"long float overflow", Track, `{"event":"e","userId":"u","properties":{"n":1` + strings.Repeat("0", 400) + `.5}}`, RuleNumberRange, -1, "properties"},
		// field types
		{"userId object", Track, `{"event":"e","userId":{}}`, RuleFieldType, -1, "userId"},
		{"event number", Track, `{"event":1,"userId":"u"}`, RuleFieldType, -1, "event"},
		{"properties array", Track, `{"event":"e","userId":"u","properties":[]}`, RuleFieldType, -1, "properties"},
		{"context string", Identify, `{"userId":"u","context":"x"}`, RuleFieldType, -1, "context"},
		{"traits number", Identify, `{"userId":"u","traits":1}`, RuleFieldType, -1, "traits"},
		{"integrations bool", Track, `{"event":"e","userId":"u","integrations":true}`, RuleFieldType, -1, "integrations"},
		{"batch not array", "", `{"batch":{}}`, RuleFieldType, -1, "batch"},
		{"batch context array", "", `{"batch":[{"type":"track","event":"e","userId":"u"}],"context":[]}`, RuleFieldType, -1, "context"},
		{"writeKey number", "", `{"writeKey":1,"batch":[{"type":"track","event":"e","userId":"u"}]}`, RuleFieldType, -1, "writeKey"},
		{"duplicate field", Track, `{"event":"e","userId":"u","userId":"v"}`, RuleDuplicateField, -1, "userId"},
		{"duplicate batch", "", `{"batch":[{"type":"track","event":"e","userId":"u"}],"batch":[]}`, RuleDuplicateField, -1, "batch"},
		// types
		{"type mismatch", Track, `{"type":"identify","userId":"u"}`, RuleInvalidType, -1, "type"},
		{"unknown type", Track, `{"type":"delete","userId":"u"}`, RuleInvalidType, -1, "type"},
		// identity and required fields
		{"no identity", Track, `{"event":"e"}`, RuleMissingIdentity, -1, "userId"},
		{"empty identity", Page, `{"userId":"","anonymousId":""}`, RuleMissingIdentity, -1, "userId"},
		{"null identity", Screen, `{"userId":null}`, RuleMissingIdentity, -1, "userId"},
		{"track without event", Track, `{"userId":"u"}`, RuleMissingField, -1, "event"},
		{"track empty event", Track, `{"userId":"u","event":""}`, RuleMissingField, -1, "event"},
		{"group without groupId", Group, `{"userId":"u"}`, RuleMissingField, -1, "groupId"},
		{"alias without previousId", Alias, `{"userId":"u"}`, RuleMissingField, -1, "previousId"},
		{"alias without userId", Alias, `{"anonymousId":"a","previousId":"p"}`, RuleMissingField, -1, "userId"},
		// messageId
		{"messageId too long", Track, `{"event":"e","userId":"u","messageId":"` + strings.Repeat("m", 101) + `"}`, RuleMessageIDTooLong, -1, "messageId"},
		{"messageId too many runes", Track, `{"event":"e","userId":"u","messageId":"` + strings.Repeat("é", 101) + `"}`, RuleMessageIDTooLong, -1, "messageId"},
		// timestamps
		// batch shape
		{"batch missing", "", `{"writeKey":"k"}`, RuleEmptyBatch, -1, "batch"},
		{"batch empty", "", `{"batch":[]}`, RuleEmptyBatch, -1, "batch"},
		{"batch null", "", `{"batch":null}`, RuleFieldType, -1, "batch"},
		// sizes and counts
		{"event too large", Track, `{"event":"e","userId":"u","properties":` + bigProps + `}`, RuleEventTooLarge, -1, ""},
		{"batch too large", "", `{"batch":[` + strings.Repeat(`{"type":"track","event":"e","userId":"u","properties":{"p":"`+strings.Repeat("x", 30000)+`"}},`, 18) + `{}]}`, RuleBatchTooLarge, -1, ""},
		{"too many events", "", manyItems, RuleTooManyEvents, DefaultMaxBatchEvents, ""},
		// the last case of the table is valid at the edge of a limit
		{"deep but allowed", Track, `{"event":"e","userId":"u","properties":` + deep + `}`, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := decode(t, tc.typ, tc.body)
			if tc.rule == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			var de *Error
			if !errors.As(err, &de) {
				t.Fatalf("want *Error with rule %s, got %v", tc.rule, err)
			}
			if de.Rule != tc.rule || de.Index != tc.index || de.Field != tc.field {
				t.Fatalf("got rule=%s index=%d field=%q (%v), want rule=%s index=%d field=%q",
					de.Rule, de.Index, de.Field, de, tc.rule, tc.index, tc.field)
			}
			if len(p.Events) != 0 {
				t.Fatalf("a refused body left %d events", len(p.Events))
			}
		})
	}
}

func TestDecodeLimitsConfigurable(t *testing.T) {
	d := Decoder{Limits: Limits{MaxBatchEvents: 2, MaxDepth: 3, MaxMessageIDChars: 3, MaxEventBytes: 200, MaxBatchBytes: 300}}
	var p Payload
	item := `{"type":"track","event":"e","userId":"u"}`
	cases := map[string]struct {
		typ  Type
		body string
		rule Rule
	}{
		"count": {"", `{"batch":[` + item + `,` + item + `,` + item + `]}`, RuleTooManyEvents},
		"depth": {Track, `{"event":"e","userId":"u","properties":{"a":{"b":{}}}}`, RuleTooDeep},
		"id":    {Track, `{"event":"e","userId":"u","messageId":"abcd"}`, RuleMessageIDTooLong},
		"event": {Track, `{"event":"e","userId":"u","properties":{"a":"` + strings.Repeat("x", 200) + `"}}`, RuleEventTooLarge},
		"batch": {"", `{"batch":[` + item + `],"x":"` + strings.Repeat("x", 300) + `"}`, RuleBatchTooLarge},
	}
	for name, tc := range cases {
		err := d.Decode([]byte(tc.body), Call{Type: tc.typ, ReceivedAt: received}, &p)
		var de *Error
		if !errors.As(err, &de) || de.Rule != tc.rule {
			t.Errorf("%s: got %v, want %s", name, err, tc.rule)
		}
	}
	if err := d.Decode([]byte(`{"event":"e","userId":"u","properties":{"a":{"b":1}},"messageId":"abc"}`), Call{Type: Track}, &p); err != nil {
		t.Errorf("at the limits: %v", err)
	}
}

func TestDecodeEveryCallType(t *testing.T) {
	for _, tc := range []struct {
		typ  Type
		body string
		want Event
	}{
		{Track, `{"userId":"u1","event":"Order Completed","properties":{"total":12.5}}`,
			Event{Type: Track, UserID: "u1", Event: "Order Completed", Properties: []byte(`{"total":12.5}`)}},
		{Identify, `{"anonymousId":"a1","traits":{"email":"x@y.z"}}`,
			Event{Type: Identify, AnonymousID: "a1", Traits: []byte(`{"email":"x@y.z"}`)}},
		{Page, `{"userId":"u1","name":"Home","category":"Docs","properties":{"url":"https://x"}}`,
			Event{Type: Page, UserID: "u1", Name: "Home", Category: "Docs", Properties: []byte(`{"url":"https://x"}`)}},
		{Screen, `{"userId":"u1","name":"Settings"}`, Event{Type: Screen, UserID: "u1", Name: "Settings"}},
		{Group, `{"userId":"u1","groupId":"g1","traits":{"plan":"pro"}}`,
			Event{Type: Group, UserID: "u1", GroupID: "g1", Traits: []byte(`{"plan":"pro"}`)}},
		{Alias, `{"userId":"u1","previousId":"a1"}`, Event{Type: Alias, UserID: "u1", PreviousID: "a1"}},
		{Group, `{"userId":42,"groupId":-7}`, Event{Type: Group, UserID: "42", GroupID: "-7"}},
	} {
		p, err := decode(t, tc.typ, tc.body)
		if err != nil {
			t.Fatalf("%s: %v", tc.typ, err)
		}
		got := p.Events[0]
		if len(got.MessageID) != 36 {
			t.Errorf("%s: generated messageId %q", tc.typ, got.MessageID)
		}
		got.MessageID = ""
		tc.want.Timestamp, tc.want.ReceivedAt = received, received
		if !eventsEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.typ, got, tc.want)
		}
	}
}

func TestDecodeNormalises(t *testing.T) {
	t.Run("clock skew", func(t *testing.T) {
		// The sender's clock is 1h fast: sentAt says 08:08:09, the event
		// happened 2s before sending.
		p, err := decode(t, Track, `{"userId":"u","event":"e","timestamp":"2024-05-06T08:08:07Z","sentAt":"2024-05-06T08:08:09Z"}`)
		if err != nil {
			t.Fatal(err)
		}
		e := p.Events[0]
		if want := received.Add(-2 * time.Second); !e.Timestamp.Equal(want) {
			t.Errorf("timestamp %v, want %v", e.Timestamp, want)
		}
		if want := time.Date(2024, 5, 6, 8, 8, 7, 0, time.UTC); !e.OriginalTimestamp.Equal(want) {
			t.Errorf("originalTimestamp %v, want %v", e.OriginalTimestamp, want)
		}
		if !e.ReceivedAt.Equal(received) {
			t.Errorf("receivedAt %v", e.ReceivedAt)
		}
	})
	t.Run("timestamp without sentAt kept", func(t *testing.T) {
		p, _ := decode(t, Track, `{"userId":"u","event":"e","timestamp":"2024-05-06T09:00:00+02:00"}`)
		if want := time.Date(2024, 5, 6, 7, 0, 0, 0, time.UTC); !p.Events[0].Timestamp.Equal(want) {
			t.Errorf("timestamp %v, want %v", p.Events[0].Timestamp, want)
		}
	})
	t.Run("no timestamp is receivedAt", func(t *testing.T) {
		p, _ := decode(t, Track, `{"userId":"u","event":"e","sentAt":"2020-01-01T00:00:00Z"}`)
		if e := p.Events[0]; !e.Timestamp.Equal(received) || !e.OriginalTimestamp.IsZero() {
			t.Errorf("timestamp %v original %v", e.Timestamp, e.OriginalTimestamp)
		}
	})
	t.Run("batch sentAt applies to items", func(t *testing.T) {
		p, err := decode(t, "", `{"batch":[
			{"type":"track","userId":"u","event":"e","timestamp":"2024-05-06T08:08:07Z"},
			{"type":"track","userId":"u","event":"e","timestamp":"2024-05-06T08:08:07Z","sentAt":"2024-05-06T08:08:08Z"}
		],"sentAt":"2024-05-06T08:08:09Z"}`)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := p.Events[0].Timestamp, received.Add(-2*time.Second); !got.Equal(want) {
			t.Errorf("item 0 timestamp %v, want %v", got, want)
		}
		if got, want := p.Events[1].Timestamp, received.Add(-1*time.Second); !got.Equal(want) {
			t.Errorf("item 1 (own sentAt) timestamp %v, want %v", got, want)
		}
	})
	t.Run("batch context and integrations merged", func(t *testing.T) {
		p, err := decode(t, "", `{"context":{"ip":"1.2.3.4","locale":"fr"},"batch":[
			{"type":"identify","userId":"u","context":{"locale":"de","app":{"v":1}}},
			{"type":"identify","userId":"u"},
			{"type":"identify","userId":"u","context":{},"integrations":{"All":false}}
		],"integrations":{"Amplitude":true}}`)
		if err != nil {
			t.Fatal(err)
		}
		wantCtx := []string{`{"locale":"de","app":{"v":1},"ip":"1.2.3.4"}`, `{"ip":"1.2.3.4","locale":"fr"}`, `{"ip":"1.2.3.4","locale":"fr"}`}
		wantInt := []string{`{"Amplitude":true}`, `{"Amplitude":true}`, `{"All":false,"Amplitude":true}`}
		for i, e := range p.Events {
			if string(e.Context) != wantCtx[i] {
				t.Errorf("item %d context %s, want %s", i, e.Context, wantCtx[i])
			}
			if string(e.Integrations) != wantInt[i] {
				t.Errorf("item %d integrations %s, want %s", i, e.Integrations, wantInt[i])
			}
		}
	})
	t.Run("objects kept byte for byte", func(t *testing.T) {
		props := `{ "b" : [1, 2.50, -0.0e+1, "\u00e9\n"], "a":{"z":null,"y":true} }`
		p, err := decode(t, Track, `{"userId":"u","event":"e","properties":`+props+`}`)
		if err != nil {
			t.Fatal(err)
		}
		if string(p.Events[0].Properties) != props {
			t.Errorf("properties %s, want %s", p.Events[0].Properties, props)
		}
	})
	t.Run("escaped strings decoded", func(t *testing.T) {
		p, err := decode(t, Track, `{"userId":"u\"1\\\u00e9\ud83d\ude00","event":"a\/b\n","messageId":"m\t"}`)
		if err != nil {
			t.Fatal(err)
		}
		if e := p.Events[0]; e.UserID != "u\"1\\é😀" || e.Event != "a/b\n" || e.MessageID != "m\t" {
			t.Errorf("got %q %q %q", e.UserID, e.Event, e.MessageID)
		}
	})
	t.Run("writeKey read, unknown fields dropped", func(t *testing.T) {
		p, err := decode(t, Track, `{"writeKey":"wk_1","userId":"u","event":"e","channel":"server","_metadata":{"a":[1]},"receivedAt":"2000-01-01T00:00:00Z","workspace":"evil"}`)
		if err != nil {
			t.Fatal(err)
		}
		if p.WriteKey != "wk_1" {
			t.Errorf("writeKey %q", p.WriteKey)
		}
		if e := p.Events[0]; !e.ReceivedAt.Equal(received) || e.Workspace != "" {
			t.Errorf("sender overrode the envelope: %+v", e)
		}
	})
	t.Run("batch writeKey", func(t *testing.T) {
		p, err := decode(t, "", `{"batch":[{"type":"track","userId":"u","event":"e","writeKey":"item"}],"writeKey":"wk_b"}`)
		if err != nil || p.WriteKey != "wk_b" {
			t.Errorf("writeKey %q, err %v", p.WriteKey, err)
		}
	})
	t.Run("messageId kept", func(t *testing.T) {
		p, _ := decode(t, Track, `{"userId":"u","event":"e","messageId":"`+strings.Repeat("é", 100)+`"}`)
		if p.Events[0].MessageID != strings.Repeat("é", 100) {
			t.Errorf("messageId %q", p.Events[0].MessageID)
		}
	})
	t.Run("int64 edges accepted", func(t *testing.T) {
		_, err := decode(t, Track, `{"userId":"u","event":"e","properties":{"a":9223372036854775807,"b":-9223372036854775808,"c":1.7976931348623157e308,"d":1e-400}}`)
		if err != nil {
			t.Error(err)
		}
	})
}

func TestDecodeReusesPayload(t *testing.T) {
	var d Decoder
	p := Payload{Events: make([]Event, 0, 4)}
	body := []byte(`{"batch":[{"type":"track","userId":"u","event":"e"},{"type":"page","anonymousId":"a"}]}`)
	if err := d.Decode(body, Call{}, &p); err != nil || len(p.Events) != 2 {
		t.Fatalf("err %v, %d events", err, len(p.Events))
	}
	if err := d.Decode([]byte(`{"batch":[{"type":"page","anonymousId":"b"}]}`), Call{}, &p); err != nil || len(p.Events) != 1 {
		t.Fatalf("err %v, %d events", err, len(p.Events))
	}
	if e := p.Events[0]; e.UserID != "" || e.Event != "" || e.AnonymousID != "b" {
		t.Fatalf("stale fields from the previous decode: %+v", e)
	}
}

func TestErrorText(t *testing.T) {
	p, _ := decode(t, "", `{"batch":[{"type":"track","userId":"u"}]}`)
	if got, want := p.Refused[0].Err.Error(), `batch[0].event: a track call needs "event" (missing_field)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err := decode(t, Track, "{\"userId\":\"u\",\"event\":\"\xff\"}")
	if got := err.Error(); !strings.HasPrefix(got, "event: string is not valid UTF-8 at byte 23") {
		t.Errorf("got %q", got)
	}
}

func eventsEqual(a, b Event) bool {
	return a.Type == b.Type && a.MessageID == b.MessageID && a.UserID == b.UserID &&
		a.AnonymousID == b.AnonymousID && a.Event == b.Event && a.Name == b.Name &&
		a.Category == b.Category && a.GroupID == b.GroupID && a.PreviousID == b.PreviousID &&
		a.Timestamp.Equal(b.Timestamp) && a.OriginalTimestamp.Equal(b.OriginalTimestamp) &&
		a.SentAt.Equal(b.SentAt) && a.ReceivedAt.Equal(b.ReceivedAt) &&
		bytes.Equal(a.Context, b.Context) && bytes.Equal(a.Integrations, b.Integrations) &&
		bytes.Equal(a.Properties, b.Properties) && bytes.Equal(a.Traits, b.Traits) &&
		a.Workspace == b.Workspace && a.Source == b.Source
}

func TestFindWriteKey(t *testing.T) {
	for body, want := range map[string]string{
		`{"writeKey":"wk_1","batch":[]}`:                   "wk_1",
		`{"batch":[{"type":"track"}],"writeKey":"wk_2"}`:   "wk_2",
		`{"writeKey":"wk_\u0033","x":`:                     "wk_3",
		`{"writeKey":"wk_4"`:                               "wk_4", // cut short after the key
		`{"a":[1,2,{"b":"c"}],"writeKey":"wk_5"} trailing`: "wk_5",
		`{"batch":[1,,],"writeKey":"wk_6"}`:                "", // fault before the key
		`{"writeKey":42}`:                                  "",
		`["writeKey","wk"]`:                                "",
		``:                                                 "",
	} {
		if got := FindWriteKey([]byte(body)); got != want {
			t.Errorf("FindWriteKey(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestMaxBodyBytes(t *testing.T) {
	var l Limits
	if l.MaxBodyBytes("") != DefaultMaxBatchBytes || l.MaxBodyBytes(Track) != DefaultMaxEventBytes {
		t.Errorf("defaults: %d %d", l.MaxBodyBytes(""), l.MaxBodyBytes(Track))
	}
	l = Limits{MaxEventBytes: 10, MaxBatchBytes: 20}
	if l.MaxBodyBytes("") != 20 || l.MaxBodyBytes(Alias) != 10 {
		t.Errorf("set: %d %d", l.MaxBodyBytes(""), l.MaxBodyBytes(Alias))
	}
}
