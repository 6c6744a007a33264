package filter

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

func TestDecodeObject(t *testing.T) {
	for _, in := range []string{
		`{}`, `{"a":1,"b":-2.5e3,"c":"x\"y\u00e9","d":[true,false,null,{}],"e":{"f":[]},"a":2}`,
		` { "k" : [ 1 , [ 2 ] ] } `,
	} {
		got, err := decodeObject([]byte(in))
		var want map[string]any
		json.Unmarshal([]byte(in), &want)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeObject(%s) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{``, `null`} {
		if got, err := decodeObject([]byte(in)); got != nil || err != nil {
			t.Errorf("decodeObject(%q) = %v, %v; want nil", in, got, err)
		}
	}
	for _, in := range []string{`[1]`, `"s"`, `{"a":}`, `{"n":1e400}`} {
		if _, err := decodeObject([]byte(in)); err == nil {
			t.Errorf("decodeObject(%s) accepted", in)
		}
	}
}

func FuzzDecodeObject(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[true,{"c":"\u0041"}],"a":null}`))
	f.Add([]byte(`{"n":-0.0e-7}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeObject(in)
		var want any
		werr := json.Unmarshal(in, &want)
		wantObj, isObj := want.(map[string]any)
		if werr != nil || !isObj {
			if err == nil && got != nil {
				t.Fatalf("decoded %q, which encoding/json does not decode to an object", in)
			}
			return
		}
		if err != nil {
			t.Fatalf("decodeObject(%q): %v", in, err)
		}
		if utf8.Valid(in) && !reflect.DeepEqual(got, wantObj) {
			t.Fatalf("decodeObject(%q) = %v, encoding/json %v", in, got, wantObj)
		}
	})
}
