package jsonscan

import (
	"strings"
	"testing"
)

// TestValueFaults pins the fault and its offset for each way a value can
// break the rules, under lax and strict rules.
func TestValueFaults(t *testing.T) {
	for _, tc := range []struct {
		in          string
		lax, strict Fault
		at          int
	}{
		{`{"a":[1,"x",true,false,null,-0.5e+3]}`, NoFault, NoFault, 37},
		{`"abc`, Unterminated, Unterminated, 4},
		{`"ab\`, Unterminated, Unterminated, 3},
		{`"a\x"`, BadEscape, BadEscape, 2},
		{`"a\u12"`, BadUnicodeEscape, BadUnicodeEscape, 2},
		{"\"a\tb\"", ControlChar, ControlChar, 2},
		{"\"a\xffb\"", NoFault, BadUTF8, 2},
		{`"a\ud800b"`, NoFault, LoneSurrogate, 2},
		{`"a\udc00"`, NoFault, LoneSurrogate, 2},
		{`"\ud83d\ude00"`, NoFault, NoFault, 14},
		{`01`, NoFault, NoFault, 1}, // the number is 0; what follows is the caller's
		{`-`, BadNumber, BadNumber, 1},
		{`1.e5`, BadNumber, BadNumber, 2},
		{`1e+`, BadNumber, BadNumber, 3},
		{`9223372036854775807`, NoFault, NoFault, 19},
		{`-9223372036854775809`, NoFault, IntRange, 0},
		{`[1e309]`, NoFault, FloatRange, 1},
		{`tru`, BadLiteral, BadLiteral, 0},
		{`[1,]`, NoValue, NoValue, 3},
		{`{"a":1,}`, NoKey, NoKey, 7},
		{`{"a" 1}`, NoColon, NoColon, 5},
		{`{"a":1 "b":2}`, NoCommaObject, NoCommaObject, 7},
		{`[1 2]`, NoCommaArray, NoCommaArray, 3},
		{``, NoValue, NoValue, 0},
	} {
		for _, strict := range []bool{false, true} {
			want := tc.lax
			if strict {
				want = tc.strict
			}
			s := Scanner{Buf: []byte(tc.in), Rules: Rules{Strict: strict}}
			f := s.Value(0)
			if f != want || (want != NoFault || tc.lax == tc.strict) && s.Pos != tc.at {
				t.Errorf("%q strict=%v: %v at %d, want %v at %d", tc.in, strict, f, s.Pos, want, tc.at)
			}
		}
	}
}

// TestDepth pins both readings of MaxDepth: objects and arrays nest
// MaxDepth deep, or (ValueDepth) values sit inside MaxDepth of them.
func TestDepth(t *testing.T) {
	nest := func(n int, inner string) []byte {
		return []byte(strings.Repeat("[", n) + inner + strings.Repeat("]", n))
	}
	for _, tc := range []struct {
		in         []byte
		valueDepth bool
		want       Fault
	}{
		{nest(3, "1"), false, NoFault},
		{nest(3, "[]"), false, TooDeep},
		{nest(4, ""), false, TooDeep},
		{nest(3, "1"), true, NoFault},
		{nest(4, ""), true, NoFault},
		{nest(4, "1"), true, TooDeep},
	} {
		s := Scanner{Buf: tc.in, Rules: Rules{MaxDepth: 3, ValueDepth: tc.valueDepth}}
		if f := s.Value(0); f != tc.want {
			t.Errorf("%s valueDepth=%v: %v, want %v", tc.in, tc.valueDepth, f, tc.want)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	for raw, want := range map[string]string{
		`plain`:                    "plain",
		`a\"b\\c\/d\b\f\n\r\t`:     "a\"b\\c/d\b\f\n\r\t",
		`\u00e9\ud83d\ude00`:       "é😀",
		`\ud800x`:                  "\ufffdx",
		`\ud800\u0041`:             "\ufffdA",
		`\udc00\ud83d\ude00\ud800`: "\ufffd😀\ufffd",
	} {
		if got := string(AppendUnescaped(nil, []byte(raw))); got != want {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
