// Package jsonscan is a small strict JSON scanner shared by the stages that
// read members out of raw event objects: it walks bytes without building
// values, so reading a nested member costs one pass and no allocations. It
// accepts exactly what encoding/json accepts, nesting limit included, except
// that it does not check UTF-8 (neither does encoding/json).
package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
)

// ErrSyntax is the error of every malformed document.
var ErrSyntax = errors.New("invalid JSON")

// MaxDepth matches encoding/json's nesting limit.
const MaxDepth = 10000

// SkipSpace returns the index of the first non-space byte at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// SkipString returns the end of the string starting at b[i] == '"' and
// whether it holds escapes. It finds the quote and backslashes with
// bytes.IndexByte, which is vectorised, then checks for control characters.
func SkipString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false, ErrSyntax
		}
		span := b[i : i+q]
		bs := bytes.IndexByte(span, '\\')
		if bs >= 0 {
			span = span[:bs]
		}
		for _, c := range span {
			if c < 0x20 {
				return 0, false, ErrSyntax
			}
		}
		if bs < 0 {
			return i + q + 1, escaped, nil
		}
		escaped = true
		i += bs + 1 // the escaped character
		if i >= len(b) {
			return 0, false, ErrSyntax
		}
		switch b[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+4 >= len(b) {
				return 0, false, ErrSyntax
			}
			for _, h := range b[i+1 : i+5] {
				if !isHex(h) {
					return 0, false, ErrSyntax
				}
			}
			i += 5
		default:
			return 0, false, ErrSyntax
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// SkipNumber returns the end of the number starting at b[i].
func SkipNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, ErrSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, ErrSyntax
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, ErrSyntax
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, ErrSyntax
	}
	return i + len(lit), nil
}

// SkipValue returns the end of the value starting at b[i] (no leading space).
func SkipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, ErrSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := SkipString(b, i)
		return end, err
	case c == '{':
		return EachMember(b, i, depth, nil)
	case c == '[':
		return skipArray(b, i, depth)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || isDigit(c):
		return SkipNumber(b, i)
	}
	return 0, ErrSyntax
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth++; depth > MaxDepth {
		return 0, ErrSyntax
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := SkipValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		i = SkipSpace(b, end)
		if i >= len(b) {
			return 0, ErrSyntax
		}
		switch b[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = SkipSpace(b, i+1)
		default:
			return 0, ErrSyntax
		}
	}
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
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, ErrSyntax
		}
		kend, escaped, err := SkipString(b, i)
		if err != nil {
			return 0, err
		}
		m := Member{Key: b[i+1 : kend-1], Escaped: escaped}
		i = SkipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, ErrSyntax
		}
		m.Start = SkipSpace(b, i+1)
		if m.End, err = SkipValue(b, m.Start, depth); err != nil {
			return 0, err
		}
		if fn != nil {
			fn(m)
		}
		i = SkipSpace(b, m.End)
		if i >= len(b) {
			return 0, ErrSyntax
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = SkipSpace(b, i+1)
		default:
			return 0, ErrSyntax
		}
	}
}

// name returns a Member's key as a string; escaped keys are decoded.
func (m Member) Name() string {
	if !m.Escaped {
		return string(m.Key)
	}
	var s string
	// The scanner has checked the escapes, so this cannot fail.
	_ = json.Unmarshal(append(append([]byte{'"'}, m.Key...), '"'), &s)
	return s
}

// is reports whether a Member's key equals want, without allocating for
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
