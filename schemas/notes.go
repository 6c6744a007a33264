package schemas

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// NotesMember is the context member where the decoder records, for the
// analyst, what it normalised in an event: context.sluice.notes is an array
// of sentences such as `timestamp: "2015-2-02" is not a date-time; receivedAt
// used`. A context.sluice the sender wrote is replaced when there are notes.
const NotesMember = "sluice"

// Notes returns the notes recorded in an event's context, nil when none.
func Notes(context []byte) []string {
	obj, ok := Member(context, NotesMember)
	if !ok {
		return nil
	}
	arr, ok := Member(obj, "notes")
	if !ok {
		return nil
	}
	return stringsOf(arr)
}

// appendNotes appends {"notes":[...]} holding every note of lists.
func appendNotes(dst []byte, lists ...[]string) []byte {
	dst = append(dst, `{"notes":[`...)
	first := true
	for _, l := range lists {
		for _, n := range l {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, n)
		}
	}
	return append(dst, "]}"...)
}

// maxNoteQuote bounds how much of a sent value a note quotes.
const maxNoteQuote = 64

// quoteNote quotes a value as sent for a note, cut to maxNoteQuote bytes.
func quoteNote(raw []byte) string {
	if len(raw) > maxNoteQuote {
		cut := maxNoteQuote
		for cut > 0 && !utf8.RuneStart(raw[cut]) {
			cut--
		}
		return strconv.Quote(string(raw[:cut])) + "…"
	}
	return strconv.Quote(string(raw))
}

func surrogateNote(field string, n int) string {
	if n == 1 {
		return field + ": a lone UTF-16 surrogate escape replaced by U+FFFD"
	}
	return field + ": " + itoa(n) + " lone UTF-16 surrogate escapes replaced by U+FFFD"
}

// timeConsequence completes the note of a time field that could not be
// read (t zero): what stands in for it.
func timeConsequence(f field, t time.Time) string {
	if !t.IsZero() {
		return ""
	}
	switch f {
	case fTimestamp:
		return "; receivedAt used"
	case fSentAt:
		return "; ignored, so no clock-skew correction"
	}
	return "; ignored"
}

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	}
	return "value"
}
