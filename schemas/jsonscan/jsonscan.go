// Package jsonscan reads JSON text without building values, so reading a
// nested member costs one pass and no allocations. A Scanner reads strings,
// numbers, keys and whole values, checking them against its Rules, and
// reports a Fault where the text breaks them: the schemas decoder and the
// validate stage build on it. The Skip functions, EachMember, OnlyValue and
// LastMember serve the consent and filter stages: they accept exactly what
// encoding/json accepts, nesting limit included, except that they do not
// check UTF-8 (neither does encoding/json).
package jsonscan

import (
	"encoding/json"
	"errors"
)

// ErrSyntax is the error of every malformed document.
var ErrSyntax = errors.New("invalid JSON")

// MaxDepth matches encoding/json's nesting limit.
const MaxDepth = 10000

// SkipSpace returns the index of the first non-space byte at or after i.
func SkipSpace(b []byte, i int) int {
	// Most JSON on the wire is compact: the first test decides.
	for i < len(b) && b[i] <= ' ' && isSpace[b[i]] {
		i++
	}
	return i
}

var isSpace = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// SkipString returns the end of the string starting at b[i] == '"' and
// whether it holds escapes.
func SkipString(b []byte, i int) (end int, escaped bool, err error) {
	s := Scanner{Buf: b, Pos: i}
	_, escaped, f := s.String()
	if f != NoFault {
		return 0, false, ErrSyntax
	}
	return s.Pos, escaped, nil
}

// SkipNumber returns the end of the number starting at b[i].
func SkipNumber(b []byte, i int) (int, error) {
	s := Scanner{Buf: b, Pos: i}
	if _, f := s.Number(); f != NoFault {
		return 0, ErrSyntax
	}
	return s.Pos, nil
}

// SkipValue returns the end of the value starting at b[i] (no leading space).
func SkipValue(b []byte, i, depth int) (int, error) {
	s := Scanner{Buf: b, Pos: i}
	if s.Value(depth) != NoFault {
		return 0, ErrSyntax
	}
	return s.Pos, nil
}

// Member is one object member: its raw key (between the quotes), whether the
// key holds escapes, and the value's span in the scanned buffer.
type Member struct {
	// Key is the raw key between its quotes; Escaped says it holds escapes.
	Key     []byte
	Escaped bool
	// Start and End bound the member's value in the document.
	Start int
	End   int
}

// EachMember walks the object starting at b[i] == '{', calling fn (if not
// nil) for each Member in order, and returns the object's end.
func EachMember(b []byte, i, depth int, fn func(Member)) (int, error) {
	if depth++; depth > MaxDepth {
		return 0, ErrSyntax
	}
	s := Scanner{Buf: b, Pos: i + 1}
	if s.SkipSpace(); s.Pos < len(b) && b[s.Pos] == '}' {
		return s.Pos + 1, nil
	}
	for {
		key, escaped, f := s.Key()
		if f != NoFault {
			return 0, ErrSyntax
		}
		s.SkipSpace()
		m := Member{Key: key, Escaped: escaped, Start: s.Pos}
		if s.Value(depth) != NoFault {
			return 0, ErrSyntax
		}
		if m.End = s.Pos; fn != nil {
			fn(m)
		}
		if more, f := s.Next('}'); !more {
			if f != NoFault {
				return 0, ErrSyntax
			}
			return s.Pos, nil
		}
		s.SkipSpace()
	}
}

// Name returns a Member's key as a string; escaped keys are decoded.
func (m Member) Name() string {
	if !m.Escaped {
		return string(m.Key)
	}
	var s string
	// The scanner has checked the escapes, so this cannot fail.
	_ = json.Unmarshal(append(append([]byte{'"'}, m.Key...), '"'), &s)
	return s
}

// Is reports whether a Member's key equals want, without allocating for
// keys that have no escapes.
func (m Member) Is(want string) bool {
	if !m.Escaped {
		return string(m.Key) == want
	}
	return m.Name() == want
}

// OnlyValue checks that b holds one JSON value and returns its span,
// or ok=false for empty input and for null.
func OnlyValue(b []byte) (start, end int, ok bool, err error) {
	start = SkipSpace(b, 0)
	if start == len(b) {
		return 0, 0, false, nil
	}
	if end, err = SkipValue(b, start, 0); err != nil {
		return 0, 0, false, err
	}
	if SkipSpace(b, end) != len(b) {
		return 0, 0, false, ErrSyntax
	}
	return start, end, string(b[start:end]) != "null", nil
}

// LastMember returns the span of the last member named want of the object
// starting at b[start] (found=false if none), and the object's end.
func LastMember(b []byte, start int, want string) (vs, ve int, found bool, end int, err error) {
	end, err = EachMember(b, start, 0, func(m Member) {
		if m.Is(want) {
			vs, ve, found = m.Start, m.End, true
		}
	})
	return vs, ve, found, end, err
}
