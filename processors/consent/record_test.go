package consent

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestRecordFromEvent(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	cases := []struct {
		name    string
		event   string
		context string
		want    map[string]bool
		err     error
	}{
		{"update", PreferenceUpdatedEvent, `{"consent":{"categoryPreferences":{"analytics":true,"ads":false,"new":true}}}`,
			map[string]bool{"analytics": true, "ads": false, "new": true}, nil},
		{"empty preferences", PreferenceUpdatedEvent, `{"consent":{"categoryPreferences":{}}}`, map[string]bool{}, nil},
		{"other event", "Order Completed", `{"consent":{"categoryPreferences":{"ads":true}}}`, nil, ErrNotConsentEvent},
		{"refused without preferences", PreferenceUpdatedEvent, `{"consent":{}}`, nil, ErrNoPreferences},
		{"refused without consent", PreferenceUpdatedEvent, `{}`, nil, ErrNoPreferences},
		{"refused without context", PreferenceUpdatedEvent, ``, nil, ErrNoPreferences},
		{"refused with null preferences", PreferenceUpdatedEvent, `{"consent":{"categoryPreferences":null}}`, nil, ErrNoPreferences},
		{"non-boolean value", PreferenceUpdatedEvent, `{"consent":{"categoryPreferences":{"ads":"yes"}}}`, nil, ErrMalformed},
		{"preferences not an object", PreferenceUpdatedEvent, `{"consent":{"categoryPreferences":true}}`, nil, ErrMalformed},
		{"invalid JSON", PreferenceUpdatedEvent, `{"consent":`, nil, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := RecordFromEvent(c.event, []byte(c.context), at, "web")
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			if err != nil {
				return
			}
			if !reflect.DeepEqual(r.CategoryPreferences, c.want) || !r.CapturedAt.Equal(at) || r.CapturedAt.Location() != time.UTC || r.Source != "web" {
				t.Fatalf("record = %+v", r)
			}
		})
	}
}

func TestRecordCodec(t *testing.T) {
	r := Record{CategoryPreferences: map[string]bool{"ads": false, "analytics": true}, CapturedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Source: "web"}
	v, err := EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"categoryPreferences":{"ads":false,"analytics":true},"capturedAt":"2026-01-02T03:04:05Z","source":"web"}`; string(v) != want {
		t.Fatalf("EncodeRecord = %s\nwant %s", v, want)
	}
	got, err := DecodeRecord(v)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("DecodeRecord = %+v, %v", got, err)
	}
	if _, err := EncodeRecord(Record{}); !errors.Is(err, ErrNoPreferences) {
		t.Errorf("EncodeRecord without preferences: %v", err)
	}
	for v, want := range map[string]error{
		`{}`: ErrNoPreferences, `{"categoryPreferences":null}`: ErrNoPreferences,
		`{"categoryPreferences":{"a":1}}`: ErrMalformed, `nope`: ErrMalformed,
		`{"categoryPreferences":{},"capturedAt":"yesterday"}`: ErrMalformed,
	} {
		if _, err := DecodeRecord([]byte(v)); !errors.Is(err, want) {
			t.Errorf("DecodeRecord(%s) err = %v, want %v", v, err, want)
		}
	}
}

func TestKey(t *testing.T) {
	k, err := Key("acme", UserID, "u/1")
	if err != nil || string(k) != "acme/USER_ID/u/1" || !validKey(k) {
		t.Fatalf("Key = %q, %v", k, err)
	}
	for _, c := range [][3]string{{"", "USER_ID", "u"}, {"a/b", "USER_ID", "u"}, {"acme", "EMAIL", "u"}, {"acme", "USER_ID", ""}} {
		if _, err := Key(c[0], SubjectType(c[1]), c[2]); !errors.Is(err, ErrBadKey) {
			t.Errorf("Key%v err = %v", c, err)
		}
	}
}
