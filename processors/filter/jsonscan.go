package filter

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A small strict JSON scanner: it walks raw bytes without building values, so
// rewriting an object's members or reading one value costs one pass. It
// accepts exactly what encoding/json accepts, nesting limit included, except
// that it does not check UTF-8 (neither does encoding/json). The consent
// stage has its own copy: sibling stages share no code.

var errSyntax = errors.New("invalid JSON")

// maxDepth matches encoding/json's nesting limit.
const maxDepth = 10000

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the end of the string starting at b[i] == '"' and
// whether it holds escapes. It finds the quote and backslashes with
// bytes.IndexByte, which is vectorised, then checks for control characters.
func skipString(b []byte, i int) (end int, escaped bool, err error) {
	i++
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return 0, false, errSyntax
		}
		span := b[i : i+q]
		bs := bytes.IndexByte(span, '\\')
		if bs >= 0 {
			span = span[:bs]
		}
		for _, c := range span {
			if c < 0x20 {
				return 0, false, errSyntax
			}
		}
		if bs < 0 {
			return i + q + 1, escaped, nil
		}
		escaped = true
		i += bs + 1 // the escaped character
		if i >= len(b) {
			return 0, false, errSyntax
		}
		switch b[i] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			if i+4 >= len(b) {
				return 0, false, errSyntax
			}
			for _, h := range b[i+1 : i+5] {
				if !isHex(h) {
					return 0, false, errSyntax
				}
			}
			i += 5
		default:
			return 0, false, errSyntax
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipNumber returns the end of the number starting at b[i].
func skipNumber(b []byte, i int) (int, error) {
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
		return 0, errSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, errSyntax
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
			return 0, errSyntax
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, nil
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, errSyntax
	}
	return i + len(lit), nil
}

// skipValue returns the end of the value starting at b[i] (no leading space).
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return 0, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		end, _, err := skipString(b, i)
		return end, err
	case c == '{':
		return eachMember(b, i, depth, nil)
	case c == '[':
		return skipArray(b, i, depth)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || isDigit(c):
		return skipNumber(b, i)
	}
	return 0, errSyntax
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth++; depth > maxDepth {
		return 0, errSyntax
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		end, err := skipValue(b, i, depth)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, end)
		if i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// member is one object member: its raw key (between the quotes), whether the
// key holds escapes, and the value's span in the scanned buffer.
type member struct {
	key     []byte
	escaped bool
	start   int
	end     int
}

// eachMember walks the object starting at b[i] == '{', calling fn (if not
// nil) for each member in order, and returns the object's end.
func eachMember(b []byte, i, depth int, fn func(member)) (int, error) {
	if depth++; depth > maxDepth {
		return 0, errSyntax
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errSyntax
		}
		kend, escaped, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		m := member{key: b[i+1 : kend-1], escaped: escaped}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, errSyntax
		}
		m.start = skipSpace(b, i+1)
		if m.end, err = skipValue(b, m.start, depth); err != nil {
			return 0, err
		}
		if fn != nil {
			fn(m)
		}
		i = skipSpace(b, m.end)
		if i >= len(b) {
			return 0, errSyntax
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = skipSpace(b, i+1)
		default:
			return 0, errSyntax
		}
	}
}

// name returns a member's key as a string; escaped keys are decoded.
func (m member) name() string {
	if !m.escaped {
		return string(m.key)
	}
	var s string
	// The scanner has checked the escapes, so this cannot fail.
	_ = json.Unmarshal(append(append([]byte{'"'}, m.key...), '"'), &s)
	return s
}

// is reports whether a member's key equals want, without allocating for
// keys that have no escapes.
func (m member) is(want string) bool {
	if !m.escaped {
		return string(m.key) == want
	}
	return m.name() == want
}

// onlyValue checks that b holds one JSON value and returns its span, or
// ok=false for empty input and for null.
func onlyValue(b []byte) (start, end int, ok bool, err error) {
	start = skipSpace(b, 0)
	if start == len(b) {
		return 0, 0, false, nil
	}
	if end, err = skipValue(b, start, 0); err != nil {
		return 0, 0, false, err
	}
	if skipSpace(b, end) != len(b) {
		return 0, 0, false, errSyntax
	}
	return start, end, string(b[start:end]) != "null", nil
}

// lastMember returns the span of the last member named want of the object
// starting at b[start], or found=false.
func lastMember(b []byte, start int, want string) (vs, ve int, found bool, err error) {
	_, err = eachMember(b, start, 0, func(m member) {
		if m.is(want) {
			vs, ve, found = m.start, m.end, true
		}
	})
	return vs, ve, found, err
}
