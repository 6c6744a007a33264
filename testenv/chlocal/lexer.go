package chlocal

// tokenKind is the lexical class of a token of ClickHouse SQL, as far as this
// package needs to tell them apart.
type tokenKind uint8

const (
	tokWord      tokenKind = iota // bare word: keyword or identifier
	tokQuoted                     // "identifier" or `identifier`
	tokString                     // 'string' or $tag$heredoc$tag$
	tokNumber                     // numeric literal
	tokOpen                       // ( [ {
	tokClose                      // ) ] }
	tokSemicolon                  // ;
	tokOther                      // any other punctuation
	tokBad                        // an unterminated quote, comment or heredoc
)

// token is one lexeme: its class and byte range in the text.
type token struct {
	kind       tokenKind
	start, end int
}

// lexer splits ClickHouse SQL into tokens, skipping whitespace and comments
// (--, #, /* */). It never fails: an unterminated construct becomes a tokBad
// that runs to the end of the text.
type lexer struct {
	text string
	pos  int
}

// next returns the next token, or ok=false at the end of the text.
func (l *lexer) next() (tok token, ok bool) {
	l.skipSpaceAndComments()
	if l.pos >= len(l.text) {
		return token{}, false
	}
	start := l.pos
	c := l.text[l.pos]
	kind := tokOther
	switch {
	case c == '\'':
		kind = l.quoted('\'', tokString)
	case c == '"' || c == '`':
		kind = l.quoted(c, tokQuoted)
	case c == '$' && l.heredoc():
		kind = tokString
		if l.pos > len(l.text) {
			l.pos, kind = len(l.text), tokBad
		}
	case isWordStart(c):
		for l.pos < len(l.text) && isWordByte(l.text[l.pos]) {
			l.pos++
		}
		kind = tokWord
	case isDigit(c):
		l.number()
		kind = tokNumber
	case c == '(' || c == '[' || c == '{':
		l.pos++
		kind = tokOpen
	case c == ')' || c == ']' || c == '}':
		l.pos++
		kind = tokClose
	case c == ';':
		l.pos++
		kind = tokSemicolon
	default:
		l.pos++
	}
	return token{kind: kind, start: start, end: l.pos}, true
}

// skipSpaceAndComments advances past whitespace and comments. An unterminated
// block comment runs to the end of the text, as ClickHouse's lexer reads it.
func (l *lexer) skipSpaceAndComments() {
	for l.pos < len(l.text) {
		c := l.text[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '-' && l.peek(1) == '-', c == '#':
			for l.pos < len(l.text) && l.text[l.pos] != '\n' {
				l.pos++
			}
		case c == '/' && l.peek(1) == '*':
			l.pos += 2
			for l.pos < len(l.text) && !(l.text[l.pos] == '*' && l.peek(1) == '/') {
				l.pos++
			}
			l.pos = min(l.pos+2, len(l.text))
		default:
			return
		}
	}
}

func (l *lexer) peek(ahead int) byte {
	if l.pos+ahead < len(l.text) {
		return l.text[l.pos+ahead]
	}
	return 0
}

// quoted consumes a quoted lexeme with backslash escapes and doubled quotes.
func (l *lexer) quoted(q byte, kind tokenKind) tokenKind {
	l.pos++
	for l.pos < len(l.text) {
		switch l.text[l.pos] {
		case '\\':
			l.pos += 2
		case q:
			if l.peek(1) == q {
				l.pos += 2
				continue
			}
			l.pos++
			return kind
		default:
			l.pos++
		}
	}
	l.pos = len(l.text)
	return tokBad
}

// heredoc consumes $tag$...$tag$ if one starts here; it reports false, and
// consumes nothing, when the $ does not open a heredoc. An unterminated
// heredoc leaves pos past the end.
func (l *lexer) heredoc() bool {
	end := l.pos + 1
	for end < len(l.text) && isWordByte(l.text[end]) && l.text[end] != '$' {
		end++
	}
	if end >= len(l.text) || l.text[end] != '$' {
		return false
	}
	tag := l.text[l.pos : end+1]
	for i := end + 1; i+len(tag) <= len(l.text); i++ {
		if l.text[i:i+len(tag)] == tag {
			l.pos = i + len(tag)
			return true
		}
	}
	l.pos = len(l.text) + 1
	return true
}

// number consumes a numeric literal: digits, letters (hex, exponents, 0b),
// dots, and a sign straight after an exponent.
func (l *lexer) number() {
	for l.pos < len(l.text) {
		c := l.text[l.pos]
		switch {
		case isWordByte(c) || c == '.':
			l.pos++
		case (c == '+' || c == '-') && (l.text[l.pos-1] == 'e' || l.text[l.pos-1] == 'E'):
			l.pos++
		default:
			return
		}
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isWordStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
func isWordByte(c byte) bool { return isWordStart(c) || isDigit(c) || c == '$' }
