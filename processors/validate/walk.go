package validate

import (
	"github.com/sluicehq/sluice/schemas/jsonscan"
	"github.com/sluicehq/sluice/schemas/plan"
)

// value checks the value at pos against n and consumes it. It returns false
// when the value does not fit n: the violation is recorded, and the caller
// omits the value when the policy says so. v, when not nil, receives the
// typed value (top-level fields only).
func (w *walker) value(n *node, v *Value) bool {
	class := w.class()
	if class < 0 {
		return false
	}
	if n.kind == plan.Union {
		cands := n.byClass[class]
		switch {
		case len(cands) == 0:
			return w.mismatch(n, DatatypeMismatch)
		case len(cands) > 1 && w.trials > 0:
			return w.union(cands, v)
		}
		n = cands[0]
	}
	if v != nil {
		v.Type = n.typ
	}
	switch n.kind {
	case plan.Null:
		if class != cNull {
			return w.mismatch(n, DatatypeMismatch)
		}
		if v != nil {
			v.Type = nil
		}
		return w.lit("null")
	case plan.Boolean:
		if class != cBool {
			return w.mismatch(n, DatatypeMismatch)
		}
		if w.Buf[w.Pos] == 't' {
			if v != nil {
				v.Int = 1
			}
			return w.lit("true")
		}
		return w.lit("false")
	case plan.Int, plan.Long:
		return w.integer(n, class, v)
	case plan.Float, plan.Double:
		return w.float(n, class, v)
	case plan.String, plan.Bytes, plan.Fixed:
		return w.text(n, class, v)
	case plan.Enum:
		return w.enum(n, class, v)
	case plan.Array:
		if class != cArray {
			return w.mismatch(n, DatatypeMismatch)
		}
		return w.array(n)
	case plan.Map:
		if class != cObject {
			return w.mismatch(n, DatatypeMismatch)
		}
		return w.mapValues(n)
	case plan.Record:
		if class != cObject {
			return w.mismatch(n, DatatypeMismatch)
		}
		return w.record(n, nil)
	}
	return w.mismatch(n, DatatypeMismatch)
}

// union tries each candidate branch and keeps the first that fits without
// violations; when none does, the one with the fewest violations is used.
func (w *walker) union(cands []*node, v *Value) bool {
	start := w.Pos
	nv, nd, no, blocked := len(w.r.Violations), len(w.r.dels), len(w.r.Omitted), w.blocked
	best, bestScore := 0, -1
	for i, c := range cands {
		w.trials--
		ok := w.value(c, v)
		if w.err != nil {
			return false
		}
		score := len(w.r.Violations) - nv
		if ok && score == 0 {
			return true
		}
		if !ok {
			score += 1 << 20
		}
		if bestScore < 0 || score < bestScore {
			best, bestScore = i, score
		}
		w.Pos = start
		w.r.Violations, w.r.dels, w.r.Omitted, w.blocked = w.r.Violations[:nv], w.r.dels[:nd], w.r.Omitted[:no], blocked
	}
	return w.value(cands[best], v)
}

// record checks an object against a record's fields. vals, when not nil,
// receives the typed value of each field (the event's top level).
func (w *walker) record(n *node, vals []Value) bool {
	var seenArr [4]uint64
	seen := seenArr[:]
	if len(n.fields) > 64*len(seenArr) {
		seen = make([]uint64, (len(n.fields)+63)/64)
	}
	c := compaction{open: w.Pos, lastKeptEnd: -1}
	w.Pos++
	w.SkipSpace()
	if w.Pos < len(w.Buf) && w.Buf[w.Pos] == '}' {
		w.Pos++
		w.missing(n, seen)
		return true
	}
	hint := 0
	for {
		memberStart := w.Pos
		key, esc, ok := w.key()
		if !ok {
			return false
		}
		w.r.path = append(w.r.path, keySeg(w.Buf, key, esc))
		lookup := key
		if esc {
			w.r.tmp = jsonscan.AppendUnescaped(w.r.tmp[:0], key)
			lookup = w.r.tmp
		}
		idx := n.lookup(lookup, hint)
		deleted := false
		if idx < 0 {
			start := w.Pos
			if !w.skip() {
				return false
			}
			deleted = w.violate(AdditionalProperties, "", w.describe(start), w.pol.UnplannedProperties)
		} else {
			hint = idx + 1
			seen[idx>>6] |= 1 << (idx & 63)
			var v *Value
			if vals != nil {
				v = &vals[idx]
				*v = Value{Field: v.Field, Present: true}
			}
			start := w.Pos
			fits := w.value(n.fields[idx].node, v)
			if w.err != nil {
				return false
			}
			if v != nil {
				v.Raw = w.Buf[start:w.Pos]
				if !fits {
					v.Type = nil
				}
			}
			if !fits && w.pol.TypeViolations == plan.Omit {
				deleted = true
				w.r.Omitted = append(w.r.Omitted, w.pathString(""))
				if v != nil {
					*v = n.fields[idx].def
				}
			}
		}
		w.r.path = w.r.path[:len(w.r.path)-1]
		c.member(w, memberStart, w.Pos, deleted)
		w.SkipSpace()
		if !deleted && w.Pos < len(w.Buf) && w.Buf[w.Pos] == ',' {
			c.commaAfterKept = w.Pos
		}
		if !w.sep('}') {
			if w.err != nil {
				return false
			}
			c.close(w, w.Pos-1)
			w.missing(n, seen)
			return true
		}
	}
}

// lookup finds a field by name, trying the field after the previous match
// first: clients usually send fields in schema order.
func (n *node) lookup(key []byte, hint int) int {
	if n.index != nil {
		if i, ok := n.index[string(key)]; ok {
			return i
		}
		return -1
	}
	if hint < len(n.fields) && n.fields[hint].name == string(key) {
		return hint
	}
	for i := range n.fields {
		if n.fields[i].name == string(key) {
			return i
		}
	}
	return -1
}

// missing reports the required fields of n an object lacked.
func (w *walker) missing(n *node, seen []uint64) {
	for _, i := range n.required {
		if seen[i>>6]&(1<<(i&63)) == 0 {
			f := &n.fields[i]
			w.violateAt(f.name, RequiredMissing, f.node.expected, "absent", w.pol.TypeViolations)
		}
	}
}

// array checks every element; with the omit policy, misfits are removed.
func (w *walker) array(n *node) bool {
	c := compaction{open: w.Pos, lastKeptEnd: -1}
	w.Pos++
	w.SkipSpace()
	if w.Pos < len(w.Buf) && w.Buf[w.Pos] == ']' {
		w.Pos++
		return true
	}
	for i := 0; ; i++ {
		start := w.Pos
		w.r.path = append(w.r.path, seg{index: int32(i)})
		if !w.element(n.elem, &c, start) {
			return false
		}
		if !w.sep(']') {
			if w.err != nil {
				return false
			}
			c.close(w, w.Pos-1)
			return true
		}
	}
}

// element checks one array element or map value (its path segment already
// pushed, popped here) and records in c whether it is kept or omitted. It
// returns false when the document is malformed.
func (w *walker) element(t *node, c *compaction, start int) bool {
	fits := w.value(t, nil)
	if w.err != nil {
		return false
	}
	deleted := !fits && w.pol.TypeViolations == plan.Omit
	if deleted {
		w.r.Omitted = append(w.r.Omitted, w.pathString(""))
	}
	w.r.path = w.r.path[:len(w.r.path)-1]
	c.member(w, start, w.Pos, deleted)
	w.SkipSpace()
	if !deleted && w.Pos < len(w.Buf) && w.Buf[w.Pos] == ',' {
		c.commaAfterKept = w.Pos
	}
	return true
}

// mapValues checks every value of an object against the map's value type.
func (w *walker) mapValues(n *node) bool {
	c := compaction{open: w.Pos, lastKeptEnd: -1}
	w.Pos++
	w.SkipSpace()
	if w.Pos < len(w.Buf) && w.Buf[w.Pos] == '}' {
		w.Pos++
		return true
	}
	for {
		start := w.Pos
		key, esc, ok := w.key()
		if !ok {
			return false
		}
		w.r.path = append(w.r.path, keySeg(w.Buf, key, esc))
		if !w.element(n.elem, &c, start) {
			return false
		}
		if !w.sep('}') {
			if w.err != nil {
				return false
			}
			c.close(w, w.Pos-1)
			return true
		}
	}
}

// keySeg makes the path step of a key, given as a slice of b.
func keySeg(b, key []byte, esc bool) seg {
	from := cap(b) - cap(key)
	return seg{from: int32(from), to: int32(from + len(key)), index: -1, esc: esc}
}
