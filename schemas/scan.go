package schemas

import "github.com/sluicehq/sluice/schemas/jsonscan"

// scanner walks one JSON text in a single pass and validates it while it
// goes: the JSON grammar, UTF-8 in strings (lone surrogate escapes included),
// nesting depth, and number ranges. It never allocates except for the errors
// it returns, and it never panics on any input: every index is checked. The
// checks are jsonscan's under strict rules; the scanner turns their faults
// into the decoder's errors.
type scanner struct {
	jsonscan.Scanner
	// depth is the current nesting of objects and arrays; MaxDepth is the
	// deepest it may go.
	depth int
	// keyAt is where the key of the member last read by member starts.
	keyAt int
}

// newScanner returns a scanner of buf that lets objects and arrays nest
// limit deep. Integers beyond int64 are read as JavaScript reads them: held
// to float64's range, their text kept.
func newScanner(buf []byte, limit int) scanner {
	return scanner{Scanner: jsonscan.Scanner{Buf: buf, Rules: jsonscan.Rules{MaxDepth: limit, Strict: true, WideInts: true}}}
}

// newIngestScanner is newScanner for outside input that sluice owns: each
// lone surrogate escape is rewritten in buf to \ufffd (counted in Fixed)
// rather than refused, as Segment accepts them.
func newIngestScanner(buf []byte, limit int) scanner {
	s := newScanner(buf, limit)
	s.FixSurrogates = true
	return s
}

// peek returns the next byte after whitespace, or 0 at the end.
func (s *scanner) peek() byte {
	s.SkipSpace()
	if s.Pos >= len(s.Buf) {
		return 0
	}
	return s.Buf[s.Pos]
}

func (s *scanner) syntax(reason string) *Error {
	if s.Pos >= len(s.Buf) {
		return errAt(RuleInvalidJSON, s.Pos, "unexpected end of JSON")
	}
	return errAt(RuleInvalidJSON, s.Pos, reason)
}

// fault returns the error of the fault f, found at Pos.
func (s *scanner) fault(f jsonscan.Fault) *Error {
	switch f {
	case jsonscan.BadUTF8, jsonscan.LoneSurrogate:
		return errAt(RuleInvalidUTF8, s.Pos, f.String())
	case jsonscan.IntRange, jsonscan.FloatRange:
		return errAt(RuleNumberRange, s.Pos, f.String())
	case jsonscan.TooDeep:
		return errAt(RuleTooDeep, s.Pos, f.String())
	case jsonscan.Unterminated, jsonscan.BadEscape, jsonscan.BadUnicodeEscape, jsonscan.ControlChar:
		return errAt(RuleInvalidJSON, s.Pos, f.String())
	}
	return s.syntax(f.String())
}

// str reads the string starting at Pos ('"'), returning its bytes between
// the quotes and whether it holds escapes (then see jsonscan.AppendUnescaped).
func (s *scanner) str() (raw []byte, escaped bool, err *Error) {
	raw, escaped, f := s.String()
	if f != jsonscan.NoFault {
		return nil, false, s.fault(f)
	}
	return raw, escaped, nil
}

// num reads the number at Pos and checks that it is finite as float64.
func (s *scanner) num() *Error {
	if _, f := s.Number(); f != jsonscan.NoFault {
		return s.fault(f)
	}
	return nil
}

func (s *scanner) literal(word string) *Error {
	if f := s.Literal(word); f != jsonscan.NoFault {
		return s.fault(f)
	}
	return nil
}

// value skips one value, validating it; whitespace before it is skipped.
func (s *scanner) value() *Error {
	s.SkipSpace()
	if f := s.Value(s.depth); f != jsonscan.NoFault {
		return s.fault(f)
	}
	return nil
}

func (s *scanner) enter() *Error {
	s.depth++
	if s.depth > s.MaxDepth {
		return s.fault(jsonscan.TooDeep)
	}
	s.Pos++
	return nil
}

// member moves to the n-th member of the object being read: past the comma
// before it, its key and colon. It returns the key's raw bytes (escapes not
// decoded), or more=false once it consumed the closing brace.
func (s *scanner) member(n int) (key []byte, more bool, err *Error) {
	if n == 0 && s.peek() == '}' {
		s.Pos++
		s.depth--
		return nil, false, nil
	}
	if n > 0 {
		if more, f := s.Next('}'); !more {
			return nil, false, s.closed(f)
		}
		s.SkipSpace()
	}
	s.keyAt = s.Pos
	key, escaped, f := s.Key()
	if f != jsonscan.NoFault {
		return nil, false, s.fault(f)
	}
	if escaped {
		// Known keys never need escapes; an escaped key is compared in
		// decoded form so "\u0074ype" is still "type".
		key = jsonscan.AppendUnescaped(make([]byte, 0, len(key)), key)
	}
	return key, true, nil
}

// element moves to the n-th element of the array being read, or returns
// more=false once it consumed the closing bracket.
func (s *scanner) element(n int) (more bool, err *Error) {
	if n == 0 && s.peek() == ']' {
		s.Pos++
		s.depth--
		return false, nil
	}
	if n > 0 {
		if more, f := s.Next(']'); !more {
			return false, s.closed(f)
		}
	}
	return true, nil
}

// closed leaves the object or array whose closing byte Next read, or
// returns the error of the fault Next found instead.
func (s *scanner) closed(f jsonscan.Fault) *Error {
	if f != jsonscan.NoFault {
		return s.fault(f)
	}
	s.depth--
	return nil
}

// end checks that only whitespace follows the value just read.
func (s *scanner) end() *Error {
	s.SkipSpace()
	if s.Pos < len(s.Buf) {
		return s.syntax("unexpected data after the JSON value")
	}
	return nil
}
