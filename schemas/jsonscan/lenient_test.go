package jsonscan

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSkipAgreesWithValue: Skip ends where Value ends and faults where it
// faults, at any depth Value reaches, and goes deeper than Value may.
func TestSkipAgreesWithValue(t *testing.T) {
	for _, doc := range []string{
		`1`, `"a\"b"`, `{}`, `[]`, `{"a":[1,{"b":null}],"c":"d"}`, `[[],[{}],{"x":[true,false]}]`,
		`{"a" : 1 , "b" : [ 1 , 2 ] }`, `{"a":}`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `[1 2]`, `{1:2}`, `tru`, `"\x"`,
		`[` + strings.Repeat(`{"a":[`, 50) + strings.Repeat(`]}`, 50) + `]`, `{"a":[1,2}`, `-`, `01`,
	} {
		v := Scanner{Buf: []byte(doc)}
		vf := v.Value(0)
		k := Scanner{Buf: []byte(doc)}
		kf := k.Skip()
		if (vf == NoFault) != (kf == NoFault) || (vf == NoFault && v.Pos != k.Pos) {
			t.Errorf("%s: Value %v at %d, Skip %v at %d", doc, vf, v.Pos, kf, k.Pos)
		}
		if (kf == NoFault) != (json.Valid([]byte(doc)) && k.Pos == len(doc)) && k.Pos == len(doc) {
			t.Errorf("%s: Skip %v, encoding/json valid %v", doc, kf, json.Valid([]byte(doc)))
		}
	}
	deep := strings.Repeat(`[`, 200000) + strings.Repeat(`]`, 200000)
	s := Scanner{Buf: []byte(deep)}
	if f := s.Skip(); f != NoFault || s.Pos != len(deep) {
		t.Errorf("200000 levels: %v at %d", f, s.Pos)
	}
}

func TestFixSurrogatesAndWideInts(t *testing.T) {
	for in, want := range map[string]string{
		`"\ud800"`:               `"\ufffd"`,
		`"a\udc00b\ud83d\ude00"`: `"a\ufffdb\ud83d\ude00"`,
		`"\ud800\u0041"`:         `"\ufffd\u0041"`,
		`"\uD800\uD800\uDC00"`:   `"\ufffd\uD800\uDC00"`,
	} {
		buf := []byte(in)
		s := Scanner{Buf: buf, Rules: Rules{Strict: true, FixSurrogates: true}}
		if _, _, f := s.String(); f != NoFault || string(buf) != want || s.Fixed == 0 {
			t.Errorf("%s: %v %s (fixed %d), want %s", in, f, buf, s.Fixed, want)
		}
	}
	s := Scanner{Buf: []byte(`"\ud800"`), Rules: Rules{Strict: true}}
	if _, _, f := s.String(); f != LoneSurrogate {
		t.Errorf("without FixSurrogates: %v", f)
	}
	for num, ok := range map[string]bool{
		`9223372036854775808`: true, `-99999999999999999999999`: true, `1` + strings.Repeat("0", 308): true,
		`1` + strings.Repeat("0", 309): false, `1e400`: false,
	} {
		s := Scanner{Buf: []byte(num), Rules: Rules{Strict: true, WideInts: true}}
		if _, f := s.Number(); (f == NoFault) != ok {
			t.Errorf("%.30s: %v, want ok=%v", num, f, ok)
		}
	}
}
