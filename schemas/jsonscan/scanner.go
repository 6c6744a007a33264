package jsonscan

// Rules are what a Scanner checks beyond the JSON grammar. The zero value
// checks what encoding/json does: the grammar and its nesting limit.
type Rules struct {
	// MaxDepth bounds nesting: an object or array inside MaxDepth others is
	// refused. Zero means the package's MaxDepth, encoding/json's limit.
	MaxDepth int
	// ValueDepth makes MaxDepth bound every value instead: a value inside
	// more than MaxDepth objects and arrays is refused, so an empty object or
	// array may sit one level deeper than a full one.
	ValueDepth bool
	// Strict also refuses strings that are not UTF-8 or hold a lone
	// surrogate escape, integers outside int64 and numbers that overflow
	// float64.
	Strict bool
	// FixSurrogates, under Strict rules, rewrites each lone surrogate escape
	// in Buf, in place and at the same length, to \ufffd (U+FFFD, what
	// JavaScript and encoding/json make of it) instead of refusing it, and
	// counts it in Scanner.Fixed. Buf must be writable.
	FixSurrogates bool
	// WideInts, under Strict rules, holds integers outside int64 to the range
	// of float64, as JavaScript reads them, instead of refusing them; their
	// text is not changed.
	WideInts bool
}

// Scanner reads the JSON text Buf from Pos on, checking it against its
// Rules. Each method moves Pos past what it read; on a fault it returns the
// fault and leaves Pos at the offset it was found at.
type Scanner struct {
	Buf []byte
	Pos int
	Rules
	// Fixed counts the lone surrogate escapes rewritten under FixSurrogates.
	Fixed int
}

// SkipSpace moves Pos past whitespace.
func (s *Scanner) SkipSpace() { s.Pos = SkipSpace(s.Buf, s.Pos) }

// Value reads the value at Pos, with no space before it, inside depth
// objects and arrays.
func (s *Scanner) Value(depth int) Fault {
	if s.ValueDepth && depth > s.maxDepth() {
		return TooDeep
	}
	if s.Pos >= len(s.Buf) {
		return NoValue
	}
	switch c := s.Buf[s.Pos]; c {
	case '"':
		_, _, f := s.String()
		return f
	case '{', '[':
		if !s.ValueDepth && depth >= s.maxDepth() {
			return TooDeep
		}
		return s.members(c == '{', depth+1)
	case 't':
		return s.Literal("true")
	case 'f':
		return s.Literal("false")
	case 'n':
		return s.Literal("null")
	default:
		if c == '-' || isDigit(c) {
			_, f := s.Number()
			return f
		}
		return NoValue
	}
}

func (r Rules) maxDepth() int {
	if r.MaxDepth > 0 {
		return r.MaxDepth
	}
	return MaxDepth
}

// members reads the object (obj) or array that opens at Pos, its members
// inside depth objects and arrays.
func (s *Scanner) members(obj bool, depth int) Fault {
	closing := byte(']')
	if obj {
		closing = '}'
	}
	s.Pos++
	s.SkipSpace()
	if s.Pos < len(s.Buf) && s.Buf[s.Pos] == closing {
		s.Pos++
		return NoFault
	}
	for {
		var f Fault
		if obj {
			if _, _, f = s.Key(); f != NoFault {
				return f
			}
			s.SkipSpace()
		}
		if f = s.Value(depth); f != NoFault {
			return f
		}
		more, f := s.Next(closing)
		if !more {
			return f
		}
		s.SkipSpace()
	}
}

// Key reads the object key at Pos and the colon after it, and returns the
// key's bytes between its quotes and whether they hold escapes.
func (s *Scanner) Key() (raw []byte, escaped bool, f Fault) {
	if s.Pos >= len(s.Buf) || s.Buf[s.Pos] != '"' {
		return nil, false, NoKey
	}
	if raw, escaped, f = s.String(); f != NoFault {
		return nil, false, f
	}
	if s.SkipSpace(); s.Pos >= len(s.Buf) || s.Buf[s.Pos] != ':' {
		return nil, false, NoColon
	}
	s.Pos++
	return raw, escaped, NoFault
}

// Next reads the space and the ',' or the closing byte ('}' or ']') after a
// member, and returns more=true after a comma.
func (s *Scanner) Next(closing byte) (more bool, f Fault) {
	s.SkipSpace()
	if s.Pos < len(s.Buf) {
		switch s.Buf[s.Pos] {
		case ',':
			s.Pos++
			return true, NoFault
		case closing:
			s.Pos++
			return false, NoFault
		}
	}
	if closing == '}' {
		return false, NoCommaObject
	}
	return false, NoCommaArray
}

// Literal reads the word (true, false or null) at Pos.
func (s *Scanner) Literal(word string) Fault {
	if len(s.Buf)-s.Pos < len(word) || string(s.Buf[s.Pos:s.Pos+len(word)]) != word {
		return BadLiteral
	}
	s.Pos += len(word)
	return NoFault
}

// Skip reads the value at Pos, with no space before it, as Value does but
// without recursion and without a nesting limit: each level open costs a
// byte of heap, not a stack frame, so any nesting a buffer can hold is read.
// It finds where a value ends before a caller judges it under a depth limit.
func (s *Scanner) Skip() Fault {
	var open []byte // the closing byte of each object and array open
	for {
		if s.Pos >= len(s.Buf) {
			return NoValue
		}
		var f Fault
		switch c := s.Buf[s.Pos]; c {
		case '{', '[':
			closing := byte(']')
			if c == '{' {
				closing = '}'
			}
			s.Pos++
			s.SkipSpace()
			if s.Pos < len(s.Buf) && s.Buf[s.Pos] == closing {
				s.Pos++
				break
			}
			open = append(open, closing)
			if closing == '}' {
				if _, _, f = s.Key(); f != NoFault {
					return f
				}
				s.SkipSpace()
			}
			continue // the first member's value
		case '"':
			_, _, f = s.String()
		case 't':
			f = s.Literal("true")
		case 'f':
			f = s.Literal("false")
		case 'n':
			f = s.Literal("null")
		default:
			if c != '-' && !isDigit(c) {
				return NoValue
			}
			_, f = s.Number()
		}
		if f != NoFault {
			return f
		}
		// A value is done: close what it ends, then go to the next member.
		for {
			if len(open) == 0 {
				return NoFault
			}
			closing := open[len(open)-1]
			more, f := s.Next(closing)
			if f != NoFault {
				return f
			}
			if !more {
				open = open[:len(open)-1]
				continue
			}
			s.SkipSpace()
			if closing == '}' {
				if _, _, f = s.Key(); f != NoFault {
					return f
				}
				s.SkipSpace()
			}
			break
		}
	}
}
