package validate

import (
	"strconv"
	"unicode/utf8"

	"github.com/sluicehq/sluice/schemas/jsonscan"
	"github.com/sluicehq/sluice/schemas/plan"
)

// seg is one step of the path to the value being checked: an object key
// (the input bytes [from, to), as sent) or an array index.
type seg struct {
	from, to int32
	index    int32 // -1 for keys
	esc      bool
}

// mismatch records that the unconsumed value at pos does not fit n, and
// consumes it.
func (w *walker) mismatch(n *node, kind Kind) bool {
	start := w.Pos
	if !w.skip() {
		return false
	}
	return w.misfit(n, start, kind)
}

// misfit records that the value consumed from start does not fit n.
func (w *walker) misfit(n *node, start int, kind Kind) bool {
	w.violateAt("", kind, n.expected, w.describe(start), w.pol.TypeViolations)
	return false
}

// violate records a violation at the current path and applies act; it
// reports whether the value is to be omitted.
func (w *walker) violate(kind Kind, expected, actual string, act plan.Action) bool {
	w.violateAt("", kind, expected, actual, act)
	if act == plan.Omit {
		w.r.Omitted = append(w.r.Omitted, w.pathString(""))
		return true
	}
	return false
}

// violateAt records a violation at the current path plus the key extra.
// A missing field cannot be omitted: omit then lets the event pass.
func (w *walker) violateAt(extra string, kind Kind, expected, actual string, act plan.Action) {
	if kind == RequiredMissing && act == plan.Omit {
		act = plan.Allow
	}
	if act == plan.Block {
		w.blocked = true
	}
	w.r.Violations = append(w.r.Violations, Violation{
		Path: w.pathString(extra), Kind: kind, Expected: expected, Actual: actual, Action: act,
	})
}

// describe names the JSON consumed from start: its kind and, for scalars,
// its text (clipped).
func (w *walker) describe(start int) string {
	raw := w.Buf[start:w.Pos]
	if len(raw) == 0 {
		return ""
	}
	switch classOf[raw[0]] {
	case cNull:
		return "null"
	case cBool:
		return "boolean " + string(raw)
	case cNumber:
		return "number " + clip(raw)
	case cString:
		return "string " + clip(raw)
	case cArray:
		return "array"
	}
	return "object"
}

// clip keeps violations small: at most 64 bytes of a value, cut on a rune.
func clip(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + "…"
}

// pathString renders the current path, plus extra, as
// root.key[3]["odd key"].
func (w *walker) pathString(extra string) string {
	b := make([]byte, 0, 64)
	b = append(b, w.root...)
	for _, s := range w.r.path {
		if s.index >= 0 {
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
			continue
		}
		key := w.Buf[s.from:s.to]
		if s.esc {
			key = jsonscan.AppendUnescaped(nil, key)
		}
		b = appendKey(b, key)
	}
	if extra != "" {
		b = appendKey(b, []byte(extra))
	}
	return string(b)
}

// appendKey writes .key for plain keys and ["key"] for others.
func appendKey(b, key []byte) []byte {
	plain := len(key) > 0
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$' || c == ' ') {
			plain = false
			break
		}
	}
	if plain {
		b = append(b, '.')
		return append(b, key...)
	}
	b = append(b, '[')
	b = strconv.AppendQuote(b, string(key))
	return append(b, ']')
}
