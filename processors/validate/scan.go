package validate

import (
	"errors"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicehq/sluice/schemas/plan"
)

// ErrMalformed is returned (wrapped, with the offset) for properties that
// are not well-formed JSON. Such input is dead-lettered upstream.
var ErrMalformed = errors.New("validate: malformed JSON")

// maxSkipDepth bounds the nesting of unplanned values the walker skips.
const maxSkipDepth = 512

// walker walks the JSON bytes of one event once, checking them against
// compiled nodes and recording violations and deletions in its Result.
type walker struct {
	b       []byte
	pos     int
	r       *Result
	pol     plan.Policy
	root    string // "properties" or "traits"
	err     error
	blocked bool
	trials  int // union branch trials left, so nested unions stay linear
}

// malformed records the first syntax error and returns false.
func (w *walker) malformed(what string) bool {
	if w.err == nil {
		w.err = &syntaxError{offset: w.pos, what: what}
	}
	return false
}

type syntaxError struct {
	offset int
	what   string
}

func (e *syntaxError) Error() string {
	return ErrMalformed.Error() + " at offset " + strconv.Itoa(e.offset) + ": " + e.what
}

func (e *syntaxError) Unwrap() error { return ErrMalformed }

// classOf maps the first byte of a value to its JSON class; -1 if none.
var classOf = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	t['n'] = cNull
	t['t'], t['f'] = cBool, cBool
	t['-'] = cNumber
	for c := '0'; c <= '9'; c++ {
		t[c] = cNumber
	}
	t['"'] = cString
	t['['] = cArray
	t['{'] = cObject
	return t
}()

// strStop marks bytes that end the fast path of a string scan.
var strStop = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

func (w *walker) skipWS() {
	if w.pos < len(w.b) && w.b[w.pos] > ' ' {
		return
	}
	for w.pos < len(w.b) {
		switch w.b[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

// class is the JSON class of the value at pos, or -1 (and a syntax error).
func (w *walker) class() int {
	if w.pos >= len(w.b) {
		w.malformed("unexpected end of input")
		return -1
	}
	c := classOf[w.b[w.pos]]
	if c < 0 {
		w.malformed("unexpected character " + strconv.QuoteRune(rune(w.b[w.pos])))
	}
	return int(c)
}

// lit consumes the literal s (null, true, false).
func (w *walker) lit(s string) bool {
	if len(w.b)-w.pos < len(s) || string(w.b[w.pos:w.pos+len(s)]) != s {
		return w.malformed("invalid literal")
	}
	w.pos += len(s)
	return true
}

// str consumes a string at pos (on its opening quote) and returns the bytes
// between the quotes and whether they contain escapes.
func (w *walker) str() (raw []byte, esc bool, ok bool) {
	b := w.b
	start := w.pos + 1
	i := start
	for {
		for i < len(b) && !strStop[b[i]] {
			i++
		}
		if i >= len(b) {
			return nil, false, w.malformed("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			w.pos = i + 1
			return b[start:i], esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return nil, false, w.malformed("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
					w.pos = i
					return nil, false, w.malformed("invalid \\u escape")
				}
				i += 6
			default:
				w.pos = i
				return nil, false, w.malformed("invalid escape")
			}
		default:
			w.pos = i
			return nil, false, w.malformed("control character in string")
		}
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// number consumes a number. integral is false when it has a fraction or an
// exponent; fits says the integral value fits an int64, returned in i.
func (w *walker) number() (i int64, integral, fits, ok bool) {
	b := w.b
	p := w.pos
	neg := p < len(b) && b[p] == '-'
	if neg {
		p++
	}
	if p >= len(b) || b[p] < '0' || b[p] > '9' {
		w.pos = p
		return 0, false, false, w.malformed("invalid number")
	}
	var u uint64
	over := false
	if b[p] == '0' {
		p++
	} else {
		for p < len(b) && b[p] >= '0' && b[p] <= '9' {
			d := uint64(b[p] - '0')
			if u > (1<<64-1-d)/10 {
				over = true
			} else {
				u = u*10 + d
			}
			p++
		}
	}
	integral = true
	if p < len(b) && b[p] == '.' {
		integral = false
		p++
		q := p
		for p < len(b) && b[p] >= '0' && b[p] <= '9' {
			p++
		}
		if p == q {
			w.pos = p
			return 0, false, false, w.malformed("invalid number")
		}
	}
	if p < len(b) && (b[p] == 'e' || b[p] == 'E') {
		integral = false
		p++
		if p < len(b) && (b[p] == '+' || b[p] == '-') {
			p++
		}
		q := p
		for p < len(b) && b[p] >= '0' && b[p] <= '9' {
			p++
		}
		if p == q {
			w.pos = p
			return 0, false, false, w.malformed("invalid number")
		}
	}
	w.pos = p
	if integral && !over {
		switch {
		case !neg && u <= 1<<63-1:
			return int64(u), true, true, true
		case neg && u <= 1<<63:
			return -int64(u), true, true, true
		}
	}
	return 0, integral, false, true
}

// skip consumes any value, checking its syntax.
func (w *walker) skip(depth int) bool {
	if depth > maxSkipDepth {
		return w.malformed("nested deeper than " + strconv.Itoa(maxSkipDepth))
	}
	switch w.class() {
	case cNull:
		return w.lit("null")
	case cBool:
		if w.b[w.pos] == 't' {
			return w.lit("true")
		}
		return w.lit("false")
	case cNumber:
		_, _, _, ok := w.number()
		return ok
	case cString:
		_, _, ok := w.str()
		return ok
	case cArray:
		w.pos++
		w.skipWS()
		if w.pos < len(w.b) && w.b[w.pos] == ']' {
			w.pos++
			return true
		}
		for {
			if !w.skip(depth + 1) {
				return false
			}
			if !w.sep(']') {
				return w.err == nil
			}
		}
	case cObject:
		w.pos++
		w.skipWS()
		if w.pos < len(w.b) && w.b[w.pos] == '}' {
			w.pos++
			return true
		}
		for {
			if !w.key() || !w.skip(depth+1) {
				return false
			}
			if !w.sep('}') {
				return w.err == nil
			}
		}
	}
	return false
}

// key consumes `"name" :` and the whitespace after it.
func (w *walker) key() bool {
	if w.pos >= len(w.b) || w.b[w.pos] != '"' {
		return w.malformed("expected a string key")
	}
	if _, _, ok := w.str(); !ok {
		return false
	}
	return w.colon()
}

func (w *walker) colon() bool {
	w.skipWS()
	if w.pos >= len(w.b) || w.b[w.pos] != ':' {
		return w.malformed("expected ':'")
	}
	w.pos++
	w.skipWS()
	return true
}

// sep consumes the separator after a member or element: true after a comma
// (another member follows), false after the closing byte or on error.
func (w *walker) sep(closing byte) bool {
	w.skipWS()
	if w.pos < len(w.b) {
		switch w.b[w.pos] {
		case ',':
			w.pos++
			w.skipWS()
			return true
		case closing:
			w.pos++
			return false
		}
	}
	return w.malformed("expected ',' or '" + string(closing) + "'")
}

// unescape decodes the contents of a JSON string into dst.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
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
			r := rune(hex4(raw[i+2 : i+6]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, rune(hex4(raw[i+2:i+6]))); r2 != utf8.RuneError {
						r = r2
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, raw[i+1])
		}
		i += 2
	}
	return dst
}

func hex4(b []byte) int {
	n := 0
	for _, c := range b {
		n <<= 4
		switch {
		case c >= '0' && c <= '9':
			n |= int(c - '0')
		case c >= 'a' && c <= 'f':
			n |= int(c - 'a' + 10)
		default:
			n |= int(c - 'A' + 10)
		}
	}
	return n
}
