package filter

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRewrite(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		paths []string
		allow bool
		want  string // "" = unchanged input; "error" = error
	}{
		{"drop one", `{"a":1,"b":2}`, []string{"a"}, false, `{"b":2}`},
		{"drop all", `{"a":1,"b":2}`, []string{"a", "b"}, false, `{}`},
		{"drop absent", `{"a":1}`, []string{"z"}, false, ""},
		{"drop repeated key everywhere", `{"a":1,"b":2,"a":3}`, []string{"a"}, false, `{"b":2}`},
		{"drop nested", `{"a":{"x":1,"y":2},"b":2}`, []string{"a.x"}, false, `{"a":{"y":2},"b":2}`},
		{"drop nested absent", `{"a":{"y":2}}`, []string{"a.x"}, false, ""},
		{"drop nested under scalar", `{"a":5}`, []string{"a.x"}, false, ""},
		{"drop parent wins", `{"a":{"x":1}}`, []string{"a.x", "a"}, false, `{}`},
		{"drop escaped key", `{"em\u0061il":"x","b":1}`, []string{"email"}, false, `{"b":1}`},
		{"drop keeps raw values", `{ "a" : [1, 2] , "b" : "x\"y" }`, []string{"c", "a"}, false, `{"b":"x\"y"}`},
		{"allow", `{"a":1,"b":2,"c":3}`, []string{"a", "c"}, true, `{"a":1,"c":3}`},
		{"allow all present", `{"a":1}`, []string{"a", "b"}, true, ""},
		{"allow nested", `{"a":{"x":1,"y":2},"b":2}`, []string{"a.x"}, true, `{"a":{"x":1}}`},
		{"allow nested under scalar", `{"a":5,"b":1}`, []string{"a.x", "b"}, true, `{"b":1}`},
		{"allow parent wins", `{"a":{"x":1,"y":2}}`, []string{"a.x", "a"}, true, ""},
		{"allow nothing", `{"a":1}`, nil, true, `{}`},
		{"empty object", `{}`, []string{"a"}, true, ""},
		{"absent", ``, []string{"a"}, false, ""},
		{"null", `null`, []string{"a"}, true, ""},
		{"array", `[{"a":1}]`, []string{"a"}, false, "error"},
		{"string", `"a"`, []string{"a"}, false, "error"},
		{"invalid", `{"a":1,}`, []string{"a"}, false, "error"},
		{"trailing", `{"a":1} {}`, []string{"a"}, false, "error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree, err := newPathTree(c.paths)
			if err != nil {
				t.Fatal(err)
			}
			in := []byte(c.in)
			out, err := rewrite(in, tree, c.allow)
			switch {
			case c.want == "error":
				if err == nil {
					t.Fatalf("rewrite = %s, want an error", out)
				}
			case err != nil:
				t.Fatalf("rewrite: %v", err)
			case c.want == "":
				if string(out) != c.in || (len(in) > 0 && &out[0] != &in[0]) {
					t.Fatalf("rewrite = %s, want the input itself", out)
				}
			case string(out) != c.want:
				t.Fatalf("rewrite = %s, want %s", out, c.want)
			}
		})
	}
}

// referenceRewrite applies a filter to decoded JSON, the obvious way.
func referenceRewrite(v map[string]any, t *pathTree, allow bool) {
	for k, val := range v {
		child := t.children[k]
		obj, isObj := val.(map[string]any)
		switch {
		case child == nil:
			if allow {
				delete(v, k)
			}
		case child.leaf:
			if !allow {
				delete(v, k)
			}
		case isObj:
			referenceRewrite(obj, child, allow)
		default:
			if allow {
				delete(v, k)
			}
		}
	}
}

func decodeReference(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v map[string]any
	err := d.Decode(&v)
	return v, err
}

func FuzzRewrite(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"x":2,"y":[3]},"c":"\u0061"}`), "a,b.x", false)
	f.Add([]byte(`{"a":1,"b":{"x":2,"y":[3]},"a":{"x":1}}`), "a.x,b", true)
	f.Add([]byte(`{"email":"x","address":{"street":"s"}}`), "email,address.street", false)
	f.Add([]byte(`[1]`), "a", true)
	f.Fuzz(func(t *testing.T, in []byte, list string, allow bool) {
		var paths []string
		for _, p := range strings.Split(list, ",") {
			if p != "" {
				paths = append(paths, p)
			}
		}
		tree, err := newPathTree(paths)
		if err != nil {
			return
		}
		out, err := rewrite(in, tree, allow)
		want, werr := decodeReference(in)
		if werr != nil || !json.Valid(in) || want == nil {
			if err == nil && !bytes.Equal(out, in) {
				t.Fatalf("rewrote input that is not a valid object: %q → %q", in, out)
			}
			return
		}
		if err != nil {
			t.Fatalf("rewrite(%q): %v", in, err)
		}
		if !json.Valid(out) {
			t.Fatalf("rewrite(%q) = invalid %q", in, out)
		}
		if !utf8.Valid(in) {
			// encoding/json rewrites invalid UTF-8 in keys, which the raw
			// rewriter keeps as it is: compare only valid UTF-8.
			return
		}
		got, err := decodeReference(out)
		if err != nil {
			t.Fatal(err)
		}
		referenceRewrite(want, tree, allow)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("rewrite(%q, %q, allow %v) = %s\nreference %v", in, paths, allow, out, want)
		}
	})
}
