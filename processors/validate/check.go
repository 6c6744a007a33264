package validate

// maxTrials bounds union branch trials per event: beyond it a union takes
// its first fitting branch without trying the others.
const maxTrials = 1024

// check validates the properties of one event against the schema.
func (cs *compiled) check(props []byte, root string, r *Result) error {
	pol := cs.schema.Policy
	r.Schema = cs.schema
	r.Values = append(r.Values[:0], cs.defaults...)
	w := walker{Scanner: scannerOf(props), r: r, pol: pol, root: root, trials: maxTrials}
	w.SkipSpace()
	var seen [4]uint64
	switch {
	case w.Pos == len(props) || props[w.Pos] == 'n':
		// Absent or null properties: an empty object.
		if w.Pos < len(props) && !w.lit("null") {
			return w.err
		}
		if len(cs.root.fields) > 64*len(seen) {
			w.missing(cs.root, make([]uint64, (len(cs.root.fields)+63)/64))
		} else {
			w.missing(cs.root, seen[:])
		}
	case props[w.Pos] == '{':
		w.record(cs.root, r.Values)
	default:
		start := w.Pos
		if !w.skip() {
			break
		}
		if w.violate(DatatypeMismatch, "record "+cs.root.typ.ShortName(), w.describe(start), pol.TypeViolations) {
			r.out = append(r.out[:0], '{', '}')
			r.Properties = r.out
			r.Outcome = Omitted
		}
		r.Values = r.Values[:0]
	}
	if w.err == nil {
		w.SkipSpace()
		if w.Pos != len(props) {
			w.malformed("unexpected data after the properties")
		}
	}
	if w.err != nil {
		r.Values = r.Values[:0]
		return w.err
	}
	switch {
	case w.blocked:
		r.Outcome = Blocked
		r.ToViolations = pol.BlockedToViolations
		r.Values = r.Values[:0]
	case len(r.dels) > 0:
		r.Outcome = Omitted
		r.Properties = r.rewrite(props)
	}
	return nil
}
