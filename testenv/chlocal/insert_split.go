package chlocal

import (
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// insertSplit is an INSERT whose data follows the statement inline (after
// FORMAT name or VALUES), as the HTTP interface receives it, split so the data
// can go to the engine as a file.
type insertSplit struct {
	// head is the statement up to where a FROM INFILE clause belongs: after
	// the table (or table function) and its column list.
	head string
	// tail is the rest of the statement before the data: an optional SETTINGS
	// clause and the FORMAT clause ("FORMAT Values" when the text had VALUES).
	tail string
	// format is the data's format name ("Values" when the text had VALUES).
	format string
	// dataStart is the offset in the text where the data begins.
	dataStart int
}

// statement returns the INSERT as the client wrote it, without its data.
func (s insertSplit) statement() string { return s.head + " " + s.tail }

// query returns the INSERT that reads its data from the file at path.
func (s insertSplit) query(path string) string {
	return s.head + " FROM INFILE " + chdb.QuoteString(path) + " " + s.tail
}

// splitOutcome says what splitInsert found.
type splitOutcome int

const (
	notInlineInsert splitOutcome = iota // not an INSERT, or one without inline data
	inlineInsert                        // an INSERT with inline data: split is valid
	needMoreText                        // text ends before the INSERT's data starts
)

// splitInsert finds where the inline data of an INSERT starts. text may be
// only the beginning of the request (complete=false): then a clause cut off by
// the end of text gives needMoreText. Data starts, as in ClickHouse, after the
// format name and the spaces and one line break that follow it, or at the first
// token after VALUES.
func splitInsert(text string, complete bool) (insertSplit, splitOutcome) {
	l := lexer{text: text}
	// touchesEnd reports whether tok may continue past an incomplete text.
	touchesEnd := func(tok token) bool { return !complete && tok.end >= len(text) }
	word := func(tok token, w string) bool {
		return tok.kind == tokWord && strings.EqualFold(text[tok.start:tok.end], w)
	}
	more := func() (token, bool, splitOutcome) {
		tok, ok := l.next()
		if !ok || tok.kind == tokBad || touchesEnd(tok) {
			if complete {
				return tok, false, notInlineInsert
			}
			return tok, false, needMoreText
		}
		return tok, true, 0
	}

	tok, ok, out := more()
	if !ok {
		return insertSplit{}, out
	}
	if !word(tok, "INSERT") {
		return insertSplit{}, notInlineInsert
	}
	if tok, ok, out = more(); !ok || !word(tok, "INTO") {
		return insertSplit{}, out
	}
	if tok, ok, out = more(); !ok {
		return insertSplit{}, out
	}
	function := word(tok, "FUNCTION")
	if function || word(tok, "TABLE") {
		if tok, ok, out = more(); !ok {
			return insertSplit{}, out
		}
	}
	// The target: a name, possibly qualified, a {param:Identifier}, or a table
	// function call. Skipping it keeps a table named "format" from looking
	// like a clause.
	prevEnd := tok.start
	if tok, ok, out = skipTarget(&l, tok, function, more, &prevEnd); !ok {
		return insertSplit{}, out
	}

	// clauseAt is where SETTINGS, FORMAT or VALUES starts; headEnd is the end
	// of the last token before it, so that a comment before the clause cannot
	// swallow the FROM INFILE that goes there.
	clauseAt, headEnd := -1, 0
	startClause := func(tok token) {
		if clauseAt < 0 {
			clauseAt, headEnd = tok.start, prevEnd
		}
	}
	depth := 0
	for {
		switch {
		case tok.kind == tokOpen:
			depth++
		case tok.kind == tokClose:
			depth = max(depth-1, 0)
		case depth > 0:
		case word(tok, "SETTINGS"):
			startClause(tok)
		case word(tok, "FORMAT"):
			startClause(tok)
			name, ok, out := more()
			if !ok || (name.kind != tokWord && name.kind != tokQuoted) {
				return insertSplit{}, out
			}
			format := text[name.start:name.end]
			if name.kind == tokQuoted {
				format = unquoteIdentifier(format)
			}
			return insertSplit{
				head:      text[:headEnd],
				tail:      text[clauseAt:name.end],
				format:    format,
				dataStart: afterFormatName(text, name.end),
			}, inlineInsert
		case word(tok, "VALUES"):
			tail := "FORMAT Values"
			if clauseAt >= 0 { // a SETTINGS clause, up to its last token
				tail = text[clauseAt:prevEnd] + " " + tail
			}
			startClause(tok)
			l.skipSpaceAndComments()
			return insertSplit{
				head:      text[:headEnd],
				tail:      tail,
				format:    "Values",
				dataStart: l.pos,
			}, inlineInsert
		case word(tok, "SELECT"), word(tok, "WITH"), word(tok, "FROM"):
			return insertSplit{}, notInlineInsert
		}
		prevEnd = tok.end
		if tok, ok, out = more(); !ok {
			return insertSplit{}, out
		}
	}
}

// skipTarget consumes the INSERT's target starting at tok and returns the
// token after it; prevEnd is set to the end of the target's last token.
func skipTarget(l *lexer, tok token, function bool, more func() (token, bool, splitOutcome), prevEnd *int) (token, bool, splitOutcome) {
	skipGroup := func() (token, bool, splitOutcome) {
		for depth := 1; depth > 0; {
			t, ok, out := more()
			if !ok {
				return t, false, out
			}
			switch t.kind {
			case tokOpen:
				depth++
			case tokClose:
				depth--
			}
			*prevEnd = t.end
		}
		return more()
	}
	for {
		var ok bool
		var out splitOutcome
		switch tok.kind {
		case tokWord, tokQuoted:
			*prevEnd = tok.end
			tok, ok, out = more()
		case tokOpen: // {name:Identifier}
			tok, ok, out = skipGroup()
		default:
			return tok, true, 0
		}
		if !ok {
			return tok, false, out
		}
		if function && tok.kind == tokOpen && l.text[tok.start] == '(' {
			return skipGroup()
		}
		if l.text[tok.start:tok.end] != "." {
			return tok, true, 0
		}
		*prevEnd = tok.end
		if tok, ok, out = more(); !ok {
			return tok, false, out
		}
	}
}

// afterFormatName returns where data starts after a format name ending at i:
// past spaces and tabs, then one optional "\r" and one optional "\n".
func afterFormatName(text string, i int) int {
	for i < len(text) && (text[i] == ' ' || text[i] == '\t' || text[i] == '\f') {
		i++
	}
	if i < len(text) && text[i] == '\r' {
		i++
	}
	if i < len(text) && text[i] == '\n' {
		i++
	}
	return i
}
