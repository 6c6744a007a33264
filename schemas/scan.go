package schemas

import (
	"strconv"
	"unicode/utf8"
)

// scanner walks one JSON text in a single pass and validates it while it
// goes: the JSON grammar, UTF-8 in strings (lone surrogate escapes included),
// nesting depth, and number ranges. It never allocates except for the errors
// it returns, and it never panics on any input: every index is checked.
type scanner struct {
	buf []byte
	pos int
	// depth is the current nesting of objects and arrays; limit is the
	// deepest it may go.
	depth, limit int
	// keyAt is where the key of the member last read by member starts.
	keyAt int
}

// strPlain marks the bytes a string may hold without a closer look: printable
// ASCII other than '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) ws() {
	// Most JSON on the wire is compact: one test decides.
	if s.pos < len(s.buf) && s.buf[s.pos] > ' ' {
		return
	}
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next byte after whitespace, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.buf) {
		return 0
	}
	return s.buf[s.pos]
}

func (s *scanner) syntax(reason string) *Error {
	if s.pos >= len(s.buf) {
		return errAt(RuleInvalidJSON, s.pos, "unexpected end of JSON")
	}
	return errAt(RuleInvalidJSON, s.pos, reason)
}

// str reads the string starting at s.pos ('"'), returning its bytes between
// the quotes and whether it holds escapes (then see appendUnescaped).
func (s *scanner) str() (raw []byte, escaped bool, err *Error) {
	buf := s.buf
	start := s.pos + 1
	i := start
	for i < len(buf) {
		c := buf[i]
		if strPlain[c] {
			i++
			continue
		}
		switch {
		case c == '"':
			s.pos = i + 1
			return buf[start:i], escaped, nil
		case c == '\\':
			escaped = true
			n, e := escapeLen(buf, i)
			if e != nil {
				return nil, false, e
			}
			i += n
		case c < 0x20:
			return nil, false, errAt(RuleInvalidJSON, i, "control character in string")
		default:
			r, size := utf8.DecodeRune(buf[i:])
			if r == utf8.RuneError && size <= 1 {
				return nil, false, errAt(RuleInvalidUTF8, i, "string is not valid UTF-8")
			}
			i += size
		}
	}
	s.pos = i
	return nil, false, errAt(RuleInvalidJSON, i, "unterminated string")
}

// escapeLen validates the escape at buf[i] ('\\') and returns its length.
// A \u escape of a UTF-16 high surrogate must be followed by a low one.
func escapeLen(buf []byte, i int) (int, *Error) {
	if i+1 >= len(buf) {
		return 0, errAt(RuleInvalidJSON, i, "unterminated string")
	}
	switch buf[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, nil
	case 'u':
	default:
		return 0, errAt(RuleInvalidJSON, i, "invalid escape in string")
	}
	r, ok := hex4(buf, i+2)
	if !ok {
		return 0, errAt(RuleInvalidJSON, i, "invalid \\u escape in string")
	}
	switch {
	case r >= 0xDC00 && r < 0xE000:
		return 0, errAt(RuleInvalidUTF8, i, "lone UTF-16 surrogate escape")
	case r >= 0xD800 && r < 0xDC00:
		if i+7 >= len(buf) || buf[i+6] != '\\' || buf[i+7] != 'u' {
			return 0, errAt(RuleInvalidUTF8, i, "lone UTF-16 surrogate escape")
		}
		lo, ok := hex4(buf, i+8)
		if !ok || lo < 0xDC00 || lo >= 0xE000 {
			return 0, errAt(RuleInvalidUTF8, i, "lone UTF-16 surrogate escape")
		}
		return 12, nil
	}
	return 6, nil
}

func hex4(buf []byte, i int) (rune, bool) {
	if i+4 > len(buf) {
		return 0, false
	}
	var r rune
	for _, c := range buf[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// appendUnescaped appends the decoded form of raw, the validated bytes of a
// string between its quotes.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		switch raw[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := hex4(raw, i+2)
			if r >= 0xD800 && r < 0xDC00 {
				lo, _ := hex4(raw, i+8)
				r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
				i += 6
			}
			dst = utf8.AppendRune(dst, r)
			i += 6
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

// num reads the number at s.pos and checks that it is representable:
// integers within int64, other numbers finite as float64.
func (s *scanner) num() *Error {
	buf := s.buf
	start := s.pos
	i := start
	neg := i < len(buf) && buf[i] == '-'
	if neg {
		i++
	}
	digits := i
	switch {
	case i < len(buf) && buf[i] == '0':
		i++
	case i < len(buf) && buf[i] >= '1' && buf[i] <= '9':
		for i < len(buf) && buf[i] >= '0' && buf[i] <= '9' {
			i++
		}
	default:
		s.pos = i
		return s.syntax("invalid number")
	}
	intDigits := buf[digits:i]
	isFloat := false
	if i < len(buf) && buf[i] == '.' {
		isFloat = true
		i++
		d := i
		for i < len(buf) && buf[i] >= '0' && buf[i] <= '9' {
			i++
		}
		if i == d {
			s.pos = i
			return s.syntax("invalid number")
		}
	}
	hasExp := false
	if i < len(buf) && (buf[i] == 'e' || buf[i] == 'E') {
		isFloat, hasExp = true, true
		i++
		if i < len(buf) && (buf[i] == '+' || buf[i] == '-') {
			i++
		}
		d := i
		for i < len(buf) && buf[i] >= '0' && buf[i] <= '9' {
			i++
		}
		if i == d {
			s.pos = i
			return s.syntax("invalid number")
		}
	}
	s.pos = i
	if !isFloat {
		if len(intDigits) < 19 {
			return nil
		}
		maxInt := "9223372036854775807"
		if neg {
			maxInt = "9223372036854775808"
		}
		if len(intDigits) > 19 || string(intDigits) > maxInt {
			return errAt(RuleNumberRange, start, "integer does not fit in int64")
		}
		return nil
	}
	// Without an exponent a number overflows float64 only past 308 digits.
	if !hasExp && i-start < 300 {
		return nil
	}
	if _, err := strconv.ParseFloat(string(buf[start:i]), 64); err != nil {
		return errAt(RuleNumberRange, start, "number overflows float64")
	}
	return nil
}

func (s *scanner) literal(word string) *Error {
	if len(s.buf)-s.pos < len(word) || string(s.buf[s.pos:s.pos+len(word)]) != word {
		return s.syntax("invalid literal")
	}
	s.pos += len(word)
	return nil
}

// value skips one value, validating it; whitespace before it is skipped.
func (s *scanner) value() *Error {
	switch c := s.peek(); c {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		_, _, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return s.num()
		}
		return s.syntax("invalid value")
	}
}

func (s *scanner) enter() *Error {
	s.depth++
	if s.depth > s.limit {
		return errAt(RuleTooDeep, s.pos, "objects and arrays nest too deep")
	}
	s.pos++
	return nil
}

func (s *scanner) object() *Error {
	if err := s.enter(); err != nil {
		return err
	}
	for n := 0; ; n++ {
		_, more, err := s.member(n)
		if err != nil || !more {
			return err
		}
		if err := s.value(); err != nil {
			return err
		}
	}
}

func (s *scanner) array() *Error {
	if err := s.enter(); err != nil {
		return err
	}
	for n := 0; ; n++ {
		more, err := s.element(n)
		if err != nil || !more {
			return err
		}
		if err := s.value(); err != nil {
			return err
		}
	}
}

// member moves to the n-th member of the object being read: past the comma
// before it, its key and colon. It returns the key's raw bytes (escapes not
// decoded), or more=false once it consumed the closing brace.
func (s *scanner) member(n int) (key []byte, more bool, err *Error) {
	c := s.peek()
	if c == '}' && n == 0 {
		s.pos++
		s.depth--
		return nil, false, nil
	}
	if n > 0 {
		switch c {
		case '}':
			s.pos++
			s.depth--
			return nil, false, nil
		case ',':
			s.pos++
			c = s.peek()
		default:
			return nil, false, s.syntax("expected ',' or '}' in object")
		}
	}
	if c != '"' {
		return nil, false, s.syntax("expected a string key in object")
	}
	s.keyAt = s.pos
	key, escaped, err := s.str()
	if err != nil {
		return nil, false, err
	}
	if escaped {
		// Known keys never need escapes; an escaped key is compared in
		// decoded form so "\u0074ype" is still "type".
		key = appendUnescaped(make([]byte, 0, len(key)), key)
	}
	if s.peek() != ':' {
		return nil, false, s.syntax("expected ':' after object key")
	}
	s.pos++
	return key, true, nil
}

// element moves to the n-th element of the array being read, or returns
// more=false once it consumed the closing bracket.
func (s *scanner) element(n int) (more bool, err *Error) {
	c := s.peek()
	if c == ']' {
		if n == 0 {
			s.pos++
			s.depth--
			return false, nil
		}
	}
	if n > 0 {
		switch c {
		case ']':
			s.pos++
			s.depth--
			return false, nil
		case ',':
			s.pos++
		default:
			return false, s.syntax("expected ',' or ']' in array")
		}
	}
	return true, nil
}

// end checks that only whitespace follows the value just read.
func (s *scanner) end() *Error {
	s.ws()
	if s.pos < len(s.buf) {
		return s.syntax("unexpected data after the JSON value")
	}
	return nil
}
