package validate

import "slices"

// compaction tracks the members of one object (or elements of one array) so
// that omitted ones can be cut out as byte ranges while the rest stay
// verbatim and comma-separated:
//
//	{"a":1,"b":2,"c":3} without b: cut `"b":2,` (from after a's comma to c)
//	{"a":1,"b":2}       without b: cut `,"b":2` (from a's end to the brace)
//	{"a":1,"b":2}       without a: cut `"a":1,` (from the brace to b)
type compaction struct {
	open           int  // offset of '{' or '['
	lastKeptEnd    int  // end of the last kept member; -1 before any
	commaAfterKept int  // offset of the comma after the last kept member
	pending        bool // members were omitted since the last kept one
}

// member registers a member spanning [start, end).
func (c *compaction) member(w *walker, start, end int, omitted bool) {
	if omitted {
		c.pending = true
		return
	}
	if c.pending {
		if c.lastKeptEnd < 0 {
			w.cut(c.open+1, start)
		} else {
			w.cut(c.commaAfterKept+1, start)
		}
		c.pending = false
	}
	c.lastKeptEnd = end
}

// close registers the closing '}' or ']' at offset end.
func (c *compaction) close(w *walker, end int) {
	if !c.pending {
		return
	}
	if c.lastKeptEnd < 0 {
		w.cut(c.open+1, end)
	} else {
		w.cut(c.lastKeptEnd, end)
	}
}

func (w *walker) cut(from, to int) {
	if from < to {
		w.r.dels = append(w.r.dels, span{from, to})
	}
}

// rewrite returns in without the cut ranges, built in the Result's buffer.
func (r *Result) rewrite(in []byte) []byte {
	d := r.dels
	byFrom := func(a, b span) int { return a.from - b.from }
	if !slices.IsSortedFunc(d, byFrom) {
		slices.SortFunc(d, byFrom)
	}
	out := r.out[:0]
	pos := 0
	for _, s := range d {
		if s.from > pos {
			out = append(out, in[pos:s.from]...)
		}
		if s.to > pos {
			pos = s.to
		}
	}
	out = append(out, in[pos:]...)
	r.out = out
	return out
}
