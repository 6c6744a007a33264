package regulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func idsJSON(n int, f func(i int) string) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f(i)
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func TestDecodeBodyRefusals(t *testing.T) {
	ok := `"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID"`
	cases := []struct {
		name, body, field, contains string
	}{
		{"not json", `{`, "", "not valid JSON"},
		{"array", `[]`, "", "JSON object"},
		{"null", `null`, "", "not null"},
		{"trailing garbage", `{"a":1} x`, "", "not valid JSON"},
		{"unknown field", `{` + ok + `,"subjectIds":["a"],"dataSharing":true}`, "dataSharing", "unknown field"},
		{"case matters", `{"RegulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["a"]}`, "RegulationType", "unknown field"},
		{"missing type", `{"subjectType":"USER_ID","subjectIds":["a"]}`, "regulationType", "required"},
		{"null type", `{"regulationType":null,"subjectType":"USER_ID","subjectIds":["a"]}`, "regulationType", "required"},
		{"number type", `{"regulationType":3,"subjectType":"USER_ID","subjectIds":["a"]}`, "regulationType", "want a string, got a number"},
		{"unknown type", `{"regulationType":"DELETE_ALL","subjectType":"USER_ID","subjectIds":["a"]}`, "regulationType", `"DELETE_ALL" is not a regulation type`},
		{"lowercase type", `{"regulationType":"suppress_only","subjectType":"USER_ID","subjectIds":["a"]}`, "regulationType", "not a regulation type"},
		{"missing subject type", `{"regulationType":"SUPPRESS_ONLY","subjectIds":["a"]}`, "subjectType", "required"},
		{"unknown subject type", `{"regulationType":"SUPPRESS_ONLY","subjectType":"EMAIL","subjectIds":["a"]}`, "subjectType", "USER_ID or ANONYMOUS_ID"},
		{"missing ids", `{` + ok + `}`, "subjectIds", "required"},
		{"ids not array", `{` + ok + `,"subjectIds":"a"}`, "subjectIds", "got a string"},
		{"no ids", `{` + ok + `,"subjectIds":[]}`, "subjectIds", "empty"},
		{"too many ids", `{` + ok + `,"subjectIds":` + idsJSON(5001, func(i int) string { return fmt.Sprint("u", i) }) + `}`, "subjectIds", "at most 5000"},
		{"number id", `{` + ok + `,"subjectIds":["a",7]}`, "subjectIds[1]", "got a number"},
		{"empty id", `{` + ok + `,"subjectIds":["a","b",""]}`, "subjectIds[2]", "empty id"},
		{"blank id", `{` + ok + `,"subjectIds":["  "]}`, "subjectIds[0]", "empty id"},
		{"long id", `{` + ok + `,"subjectIds":["` + strings.Repeat("x", 257) + `"]}`, "subjectIds[0]", "257 bytes"},
		{"control id", `{` + ok + `,"subjectIds":["a\nb"]}`, "subjectIds[0]", "control character"},
		{"null id", `{` + ok + `,"subjectIds":[null]}`, "subjectIds[0]", "got null"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeBody([]byte(c.body))
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FieldError", err)
			}
			if fe.Field != c.field || !strings.Contains(fe.Message, c.contains) {
				t.Fatalf("got field %q message %q; want field %q message containing %q", fe.Field, fe.Message, c.field, c.contains)
			}
		})
	}
}

func TestDecodeBodyAccepts(t *testing.T) {
	cases := []struct {
		body string
		want Body
	}{
		{`{"regulationType":"SUPPRESS_WITH_DELETE","subjectType":"USER_ID","subjectIds":["u1","u2"]}`,
			Body{SuppressWithDelete, UserID, []string{"u1", "u2"}}},
		{`{"subjectIds":["a/1","a/1","ü"],"subjectType":"ANONYMOUS_ID","regulationType":"DELETE_INTERNAL"}`,
			Body{DeleteInternal, AnonymousID, []string{"a/1", "ü"}}}, // repeats kept once
		{`{"regulationType":"UNSUPPRESS","subjectType":"USER_ID","subjectIds":` + idsJSON(5000, func(i int) string { return strings.Repeat("x", 200) + fmt.Sprint(i) }) + `}`,
			Body{Unsuppress, UserID, nil}},
	}
	for _, c := range cases {
		got, err := DecodeBody([]byte(c.body))
		if err != nil {
			t.Fatalf("%.80s: %v", c.body, err)
		}
		if got.RegulationType != c.want.RegulationType || got.SubjectType != c.want.SubjectType {
			t.Fatalf("%.80s: got %+v", c.body, got)
		}
		if c.want.SubjectIDs != nil && !slices.Equal(got.SubjectIDs, c.want.SubjectIDs) {
			t.Fatalf("ids = %q, want %q", got.SubjectIDs, c.want.SubjectIDs)
		}
	}
}

// FuzzDecodeBody: no input panics; every accepted body holds 1 to 5,000
// distinct, checked ids and known types, and survives a round trip.
func FuzzDecodeBody(f *testing.F) {
	f.Add([]byte(`{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u1"]}`))
	f.Add([]byte(`{"regulationType":"DELETE_ONLY","subjectType":"ANONYMOUS_ID","subjectIds":["a","a","\u0000"]}`))
	f.Add([]byte(`{"regulationType":"UNSUPPRESS","subjectType":"USER_ID","subjectIds":[1,{},[]]}`))
	f.Add([]byte(`{"subjectIds":null}`))
	f.Add([]byte(`[{"regulationType":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBody(data)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		if !b.RegulationType.Valid() || !b.SubjectType.Valid() || len(b.SubjectIDs) < 1 || len(b.SubjectIDs) > MaxSubjectIDs {
			t.Fatalf("accepted %+v", b)
		}
		seen := map[string]bool{}
		for _, id := range b.SubjectIDs {
			if checkID(id) != nil || seen[id] {
				t.Fatalf("accepted id %q", id)
			}
			seen[id] = true
		}
		again, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := DecodeBody(again)
		if err != nil || !slices.Equal(b2.SubjectIDs, b.SubjectIDs) || b2.RegulationType != b.RegulationType {
			t.Fatalf("round trip of %s: %+v, %v", again, b2, err)
		}
	})
}
