package suppress

import (
	"errors"
	"testing"
	"time"
)

func TestKeyRoundTrip(t *testing.T) {
	cases := []struct {
		ws   string
		typ  SubjectType
		id   string
		want string
	}{
		{"acme", UserID, "u-42", "acme/USER_ID/u-42"},
		{"acme", AnonymousID, "a/b/c", "acme/ANONYMOUS_ID/a/b/c"},
		{"w", UserID, "ü", "w/USER_ID/ü"},
	}
	for _, c := range cases {
		k, err := Key(c.ws, c.typ, c.id)
		if err != nil || string(k) != c.want {
			t.Fatalf("Key(%q,%q,%q) = %q, %v; want %q", c.ws, c.typ, c.id, k, err, c.want)
		}
		ws, typ, id, err := ParseKey(k)
		if err != nil || ws != c.ws || typ != c.typ || id != c.id {
			t.Fatalf("ParseKey(%q) = %q %q %q %v", k, ws, typ, id, err)
		}
	}
}

func TestKeyRejects(t *testing.T) {
	bad := []struct {
		ws  string
		typ SubjectType
		id  string
	}{
		{"", UserID, "u"},
		{"a/b", UserID, "u"},
		{"acme", "EMAIL", "u"},
		{"acme", UserID, ""},
	}
	for _, c := range bad {
		if _, err := Key(c.ws, c.typ, c.id); !errors.Is(err, ErrBadKey) {
			t.Errorf("Key(%q,%q,%q) err = %v, want ErrBadKey", c.ws, c.typ, c.id, err)
		}
	}
	for _, k := range []string{"", "/", "acme", "acme/", "/USER_ID/u", "acme/USER_ID", "acme/USER_ID/", "acme/user_id/u", "acme/EMAIL/u", "acme//u"} {
		if _, _, _, err := ParseKey([]byte(k)); !errors.Is(err, ErrBadKey) {
			t.Errorf("ParseKey(%q) err = %v, want ErrBadKey", k, err)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := Record{RegulationID: "r1", SubjectType: UserID, SubjectID: "u-42", At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	v, err := EncodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"regulationId":"r1","subjectType":"USER_ID","subjectId":"u-42","at":"2026-01-02T03:04:05Z"}`; string(v) != want {
		t.Fatalf("EncodeRecord = %s, want %s", v, want)
	}
	got, err := DecodeRecord(v)
	if err != nil || got != r {
		t.Fatalf("DecodeRecord = %+v, %v", got, err)
	}
	for _, v := range []string{``, `{}`, `{"subjectType":"EMAIL","subjectId":"x"}`, `{"subjectType":"USER_ID"}`, `[1]`} {
		if _, err := DecodeRecord([]byte(v)); !errors.Is(err, ErrBadValue) {
			t.Errorf("DecodeRecord(%s) err = %v, want ErrBadValue", v, err)
		}
	}
	if _, err := EncodeRecord(Record{SubjectType: UserID}); !errors.Is(err, ErrBadValue) {
		t.Errorf("EncodeRecord without id: err = %v", err)
	}
}
