package jsonscan

import (
	"unicode/utf16"
	"unicode/utf8"
)

// stopLax and stopStrict mark the bytes that end the fast loop of a string
// scan: control characters, '"' and '\\'; under Strict rules also every byte
// of a multi-byte UTF-8 sequence, which is then decoded.
var stopLax, stopStrict = func() (lax, strict [256]bool) {
	for c := range 256 {
		lax[c] = c < 0x20 || c == '"' || c == '\\'
		strict[c] = lax[c] || c >= utf8.RuneSelf
	}
	return lax, strict
}()

// String reads the string at Pos ('"') and returns its bytes between the
// quotes and whether they hold escapes (see AppendUnescaped). Under Strict
// rules it must also be UTF-8 without lone surrogate escapes.
func (s *Scanner) String() (raw []byte, escaped bool, f Fault) {
	stop := &stopLax
	if s.Strict {
		stop = &stopStrict
	}
	b := s.Buf
	for i := s.Pos + 1; ; {
		for i < len(b) && !stop[b[i]] {
			i++
		}
		if i >= len(b) {
			s.Pos = i
			return nil, false, Unterminated
		}
		switch c := b[i]; {
		case c == '"':
			raw = b[s.Pos+1 : i]
			s.Pos = i + 1
			return raw, escaped, NoFault
		case c == '\\':
			n, f := escapeLen(b, i, s.Strict)
			if f == LoneSurrogate && s.FixSurrogates {
				// Every lone surrogate escape is a whole \uXXXX: same length.
				copy(b[i+2:i+6], "fffd")
				s.Fixed++
				escaped = true
				i += 6
				continue
			}
			if f != NoFault {
				s.Pos = i
				return nil, false, f
			}
			escaped = true
			i += n
		case c < 0x20:
			s.Pos = i
			return nil, false, ControlChar
		default: // Strict rules only
			c, size := utf8.DecodeRune(b[i:])
			if c == utf8.RuneError && size <= 1 {
				s.Pos = i
				return nil, false, BadUTF8
			}
			i += size
		}
	}
}

// escapeLen checks the escape at b[i] == '\\' and returns its length. With
// pairs set, a \u escape of a UTF-16 high surrogate must be followed by one
// of a low surrogate, and a low surrogate may not stand alone.
func escapeLen(b []byte, i int, pairs bool) (int, Fault) {
	if i+1 >= len(b) {
		return 0, Unterminated
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return 2, NoFault
	case 'u':
	default:
		return 0, BadEscape
	}
	r, ok := hex4(b, i+2)
	switch {
	case !ok:
		return 0, BadUnicodeEscape
	case !pairs || !utf16.IsSurrogate(r):
		return 6, NoFault
	case r >= 0xDC00:
		return 0, LoneSurrogate
	}
	if i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
		return 0, LoneSurrogate
	}
	if lo, ok := hex4(b, i+8); !ok || lo < 0xDC00 || lo >= 0xE000 {
		return 0, LoneSurrogate
	}
	return 12, NoFault
}

// hex4 reads the four hexadecimal digits at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
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

// AppendUnescaped appends raw, the bytes between the quotes of a string that
// String accepted, with its escapes decoded. As in encoding/json, a surrogate
// escape without its pair becomes U+FFFD.
func AppendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		if raw[i] != '\\' {
			j := i + 1
			for j < len(raw) && raw[j] != '\\' {
				j++
			}
			dst = append(dst, raw[i:j]...)
			i = j
			continue
		}
		switch c := raw[i+1]; c {
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
			i += 6
			if utf16.IsSurrogate(r) {
				lo := rune(-1)
				if i+1 < len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					lo, _ = hex4(raw, i+2)
				}
				if r = utf16.DecodeRune(r, lo); r != utf8.RuneError {
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, c)
		}
		i += 2
	}
	return dst
}
