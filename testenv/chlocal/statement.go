package chlocal

import "strings"

// statement is what serving a request needs to know about its SQL text.
type statement struct {
	// kind is the first keyword in upper case ("SELECT", "INSERT", ...), "("
	// for a parenthesized query, and "" for text with no statement.
	kind string
	// format is the name in the statement's output FORMAT clause, if any.
	format string
	// multi is set when a second statement follows a ';'.
	multi bool
	// multiAt is the byte offset of that second statement.
	multiAt int
	// syncStart and syncEnd delimit the SYNC keyword of a DROP, DETACH or
	// TRUNCATE statement; both are 0 when there is none.
	syncStart, syncEnd int
}

// withoutSync returns the text without its SYNC keyword, if it has one.
// chDB 26.5 never runs the background task that finally removes dropped
// tables, so a SYNC drop waits forever and blocks the engine; without SYNC the
// table is gone from the catalog at once, as clients observe it either way.
func (st statement) withoutSync(text string) string {
	if st.syncEnd == 0 {
		return text
	}
	return text[:st.syncStart] + text[st.syncEnd:]
}

// describe reads the complete text of a request's query.
func describe(text string) statement {
	var st statement
	l := lexer{text: text}
	var toks []token
	for {
		tok, ok := l.next()
		if !ok {
			break
		}
		toks = append(toks, tok)
	}
	if len(toks) == 0 {
		return st
	}
	switch t := toks[0]; t.kind {
	case tokWord:
		st.kind = strings.ToUpper(text[t.start:t.end])
	case tokOpen:
		st.kind = text[t.start:t.end]
	}
	depth := 0
	for i, t := range toks {
		switch t.kind {
		case tokOpen:
			depth++
		case tokClose:
			depth = max(depth-1, 0)
		case tokSemicolon:
			if i+1 < len(toks) && toks[i+1].kind != tokSemicolon {
				st.multi, st.multiAt = true, toks[i+1].start
				return st
			}
		case tokWord:
			if depth > 0 {
				continue
			}
			word := text[t.start:t.end]
			switch {
			case i+1 < len(toks) && strings.EqualFold(word, "FORMAT"):
				if name, ok := formatName(text, toks[i+1:]); ok {
					st.format = name
				}
			case strings.EqualFold(word, "SYNC") && (st.kind == "DROP" || st.kind == "DETACH" || st.kind == "TRUNCATE"):
				st.syncStart, st.syncEnd = t.start, t.end
			}
		}
	}
	return st
}

// formatName reads the name of a trailing FORMAT clause from the tokens after
// the keyword: a name, then the end, a ';' or a SETTINGS clause. Anything else
// means FORMAT was an identifier.
func formatName(text string, after []token) (string, bool) {
	name := after[0]
	if name.kind != tokWord && name.kind != tokQuoted {
		return "", false
	}
	if len(after) > 1 {
		next := after[1]
		if next.kind != tokSemicolon && !(next.kind == tokWord && strings.EqualFold(text[next.start:next.end], "SETTINGS")) {
			return "", false
		}
	}
	s := text[name.start:name.end]
	if name.kind == tokQuoted {
		s = s[1 : len(s)-1]
	}
	return s, true
}

// isReadOnly reports whether a statement of this kind only reads, as the
// readonly setting (and HTTP GET) requires.
func isReadOnly(kind string) bool {
	switch kind {
	case "SELECT", "WITH", "(", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "USE":
		return true
	}
	return false
}
