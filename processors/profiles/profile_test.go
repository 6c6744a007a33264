package profiles

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMerge(t *testing.T) {
	for _, tc := range []struct{ name, stored, update, want string }{
		{"first identify", ``, `{"email":"a@b.c","plan":"free"}`, `{"email":"a@b.c","plan":"free"}`},
		{"new trait added, stored kept", `{"email":"a@b.c"}`, `{"plan":"pro"}`, `{"email":"a@b.c","plan":"pro"}`},
		{"named trait replaced in place", `{"plan":"free","email":"a@b.c"}`, `{"plan":"pro"}`, `{"plan":"pro","email":"a@b.c"}`},
		{"null replaces", `{"phone":"123"}`, `{"phone":null}`, `{"phone":null}`},
		{"nested object replaced whole", `{"address":{"city":"Oslo","zip":"0150"}}`, `{"address":{"city":"Bergen"}}`, `{"address":{"city":"Bergen"}}`},
		{"empty update", `{"a":1}`, `{}`, `{"a":1}`},
		{"duplicate in update: last wins", `{}`, `{"a":1,"a":2}`, `{"a":2}`},
		{"escaped key equals plain key", `{"a":1}`, `{"\u0061":2}`, `{"a":2}`},
		{"non-object update counts as {}", `{"a":1}`, `[1,2]`, `{"a":1}`},
		{"non-object stored counts as {}", `"x"`, `{"a":1}`, `{"a":1}`},
		{"whitespace inside values kept", `{ "a" : [1, 2] }`, `{"b": { "c" : true }}`, `{"a":[1, 2],"b":{ "c" : true }}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Merge([]byte(tc.stored), []byte(tc.update))
			if string(got) != tc.want {
				t.Errorf("Merge(%s, %s) = %s, want %s", tc.stored, tc.update, got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("Merge result is not JSON: %s", got)
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v, err := Encode(Profile{Traits: json.RawMessage(`{"a":1}`), UpdatedAt: at, Source: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"traits":{"a":1},"updatedAt":"2026-11-22T10:00:00Z","source":"web"}`; string(v) != want {
		t.Errorf("Encode = %s, want %s", v, want)
	}
	p, err := Decode(v)
	if err != nil || string(p.Traits) != `{"a":1}` || !p.UpdatedAt.Equal(at) || p.Source != "web" {
		t.Errorf("Decode = %+v, %v", p, err)
	}
	for _, bad := range []string{`{"traits":[1]}`, `{"traits":"x"}`, `{}`, `not json`, `{"traits":{"a":1}`} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%s): no error", bad)
		}
	}
}

func FuzzMerge(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"c":2}}`), []byte(`{"b":null,"d":"x"}`))
	f.Add([]byte(``), []byte(`{"\u0061":1,"a":2}`))
	f.Add([]byte(`{"a":"\"}"}`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, stored, update []byte) {
		got := Merge(stored, update)
		if !json.Valid(stored) || !json.Valid(update) {
			return // the router only merges traits the decoder accepted
		}
		if !json.Valid(got) {
			t.Fatalf("Merge(%q, %q) = %q, not JSON", stored, update, got)
		}
		if again := Merge(got, update); string(again) != string(got) {
			t.Fatalf("merging the same update twice changed the profile: %q then %q", got, again)
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(got, &m) != nil {
			t.Fatalf("Merge result %q is not an object", got)
		}
		var u map[string]json.RawMessage
		if json.Unmarshal(update, &u) == nil {
			for k, v := range u {
				if string(m[k]) != string(v) && !jsonEqual(m[k], v) {
					t.Fatalf("trait %q: merged %s, update said %s", k, m[k], v)
				}
			}
		}
	})
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"traits":{"a":1},"updatedAt":"2026-11-22T10:00:00Z","source":"web"}`))
	f.Add([]byte(`{"traits":null}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		p, err := Decode(value)
		if err != nil {
			return
		}
		v, err := Encode(p)
		if err != nil {
			t.Fatalf("re-encoding a decoded profile: %v", err)
		}
		if _, err := Decode(v); err != nil {
			t.Fatalf("a re-encoded profile does not decode: %v (%s)", err, v)
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}
