package consent

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

func testCategories(t testing.TB) *Categories {
	c, err := NewCategories([]string{"analytics", "ads", "email"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEventPrefs(t *testing.T) {
	c := testCategories(t)
	const A, D, E = Mask(1), Mask(2), Mask(4)
	cases := []struct {
		name    string
		context string
		want    Prefs
		err     bool
	}{
		{"no context", ``, Prefs{}, false},
		{"null context", ` null `, Prefs{}, false},
		{"empty context", `{}`, Prefs{}, false},
		{"no consent", `{"page":{"url":"x"}}`, Prefs{}, false},
		{"null consent", `{"consent":null}`, Prefs{}, false},
		{"no categoryPreferences", `{"consent":{"other":1}}`, Prefs{}, false},
		{"null categoryPreferences", `{"consent":{"categoryPreferences":null}}`, Prefs{}, false},
		{"empty preferences grant nothing", `{"consent":{"categoryPreferences":{}}}`, Prefs{Known: true}, false},
		{"grants", `{"consent":{"categoryPreferences":{"analytics":true,"ads":false,"email":true}}}`, Prefs{Known: true, Granted: A | E}, false},
		{"only true grants", `{"consent":{"categoryPreferences":{"analytics":"true","ads":1,"email":{"x":true}}}}`, Prefs{Known: true}, false},
		{"unknown categories ignored", `{"consent":{"categoryPreferences":{"other":true,"ads":true}}}`, Prefs{Known: true, Granted: D}, false},
		{"case matters", `{"consent":{"categoryPreferences":{"Analytics":true}}}`, Prefs{Known: true}, false},
		{"last category wins", `{"consent":{"categoryPreferences":{"ads":true,"ads":false,"analytics":false,"analytics":true}}}`, Prefs{Known: true, Granted: A}, false},
		{"last consent wins", `{"consent":{"categoryPreferences":{"ads":true}},"consent":{"categoryPreferences":{"email":true}}}`, Prefs{Known: true, Granted: E}, false},
		{"last consent wins even if null", `{"consent":{"categoryPreferences":{"ads":true}},"consent":null}`, Prefs{}, false},
		{"escaped keys", `{"con\u0073ent":{"categoryPreferences":{"\u0061ds":true}}}`, Prefs{Known: true, Granted: D}, false},
		{"deep and wide context", `{"a":[1,2,{"b":[true,false,null,-1.5e+3]}],"consent":{"x":"\"}","categoryPreferences":{"email":true}},"z":"\\"}`, Prefs{Known: true, Granted: E}, false},
		{"context not an object", `[1]`, denyAll, true},
		{"consent not an object", `{"consent":"yes"}`, denyAll, true},
		{"preferences not an object", `{"consent":{"categoryPreferences":["ads"]}}`, denyAll, true},
		{"invalid JSON", `{"consent":{"categoryPreferences":{"ads":true}}`, denyAll, true},
		{"trailing garbage", `{"consent":{"categoryPreferences":{"ads":true}}} x`, denyAll, true},
		{"bad literal", `{"consent":{"categoryPreferences":{"ads":tru}}}`, denyAll, true},
		{"bad number elsewhere", `{"n":01,"consent":{"categoryPreferences":{"ads":true}}}`, denyAll, true},
		{"control char in string", "{\"s\":\"a\x01\",\"consent\":{}}", denyAll, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.EventPrefs([]byte(tc.context))
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("EventPrefs(%s) = %+v, %v; want %+v, error %v", tc.context, got, err, tc.want, tc.err)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// referencePrefs computes EventPrefs the slow, obvious way with encoding/json.
func referencePrefs(c *Categories, context []byte) (Prefs, bool) {
	var v any
	if len(context) == 0 {
		return Prefs{}, true
	}
	if err := json.Unmarshal(context, &v); err != nil {
		return denyAll, false
	}
	if v == nil {
		return Prefs{}, true
	}
	for _, name := range []string{"consent", "categoryPreferences"} {
		obj, ok := v.(map[string]any)
		if !ok {
			return denyAll, false
		}
		if v = obj[name]; v == nil {
			return Prefs{}, true
		}
	}
	prefs, ok := v.(map[string]any)
	if !ok {
		return denyAll, false
	}
	var m Mask
	for name, val := range prefs {
		if val == true {
			m |= c.bit[name]
		}
	}
	return Prefs{Known: true, Granted: m}, true
}

func FuzzEventPrefs(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `{"consent":{"categoryPreferences":{"analytics":true,"ads":false}}}`,
		`{"con\u0073ent":{"categoryPreferences":{"\u0061ds":true}}}`,
		`{"consent":{"categoryPreferences":{"ads":true,"ads":false}}}`,
		`{"a":[1,{"b":"\"}"}],"consent":{"categoryPreferences":{"email":true}}}`,
		`{"consent":"x"}`, `[`, `{"consent":{"categoryPreferences":{"ads":1e5}}}`,
	} {
		f.Add([]byte(s))
	}
	c, err := NewCategories([]string{"analytics", "ads", "email"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, context []byte) {
		got, err := c.EventPrefs(context)
		if err != nil && got != denyAll {
			t.Fatalf("error %v with preferences %+v that grant", err, got)
		}
		valid := len(context) == 0 || json.Valid(context)
		if (err == nil) && !valid && len(trimSpace(context)) > 0 {
			t.Fatalf("accepted invalid JSON %q", context)
		}
		if !valid {
			return
		}
		want, ok := referencePrefs(c, context)
		if ok != (err == nil) || got != want {
			t.Fatalf("EventPrefs(%q) = %+v, %v; reference %+v, ok %v", context, got, err, want, ok)
		}
	})
}

func trimSpace(b []byte) []byte { return b[jsonscan.SkipSpace(b, 0):] }
