package plan

import (
	"strconv"
	"strings"
)

// Problem is one reason a new plan may not replace the previous one.
// Direction is "backward" (the new schema rejects events the previous one
// accepted) or "forward" (the previous schema rejects events the new one
// accepts).
type Problem struct {
	Target    string        `json:"target"`
	Path      string        `json:"path,omitempty"`
	Mode      Compatibility `json:"mode"`
	Direction string        `json:"direction"`
	Reason    string        `json:"reason"`
}

// Line renders the problem as `target: path: [direction] reason`.
func (p Problem) Line() string {
	s := p.Target + ": "
	if p.Path != "" {
		s += p.Path + ": "
	}
	return s + "[" + p.Direction + "] " + p.Reason
}

// Verdict says whether a plan may be published over the previous version.
// Mode is the mode forced for every schema, or empty when each schema used
// its own (manifest) mode.
type Verdict struct {
	Mode       Compatibility `json:"mode,omitempty"`
	Compatible bool          `json:"compatible"`
	Problems   []Problem     `json:"problems,omitempty"`
}

// Text renders the verdict with every problem, one per line.
func (v Verdict) Text() string {
	mode := "per-schema modes"
	if v.Mode != "" {
		mode = string(v.Mode)
	}
	if v.Compatible {
		return "compatible (" + mode + ")\n"
	}
	var b strings.Builder
	b.WriteString("incompatible (" + mode + "): " + strconv.Itoa(len(v.Problems)) + " problem")
	if len(v.Problems) != 1 {
		b.WriteString("s")
	}
	b.WriteString("\n")
	for _, p := range v.Problems {
		b.WriteString("  " + p.Line() + "\n")
	}
	return b.String()
}

// CheckCompatibility judges next against prev, the previously published
// plan (nil: nothing published, always compatible). Each schema present in
// both is checked with its mode (next's manifest, or force when not empty):
// BACKWARD: every event valid under the previous schema is valid under the
// new one; FORWARD: the reverse; FULL: both; NONE: nothing. Removing a schema
// breaks BACKWARD and FULL: its events become unplanned. A new version of an
// event is not checked against older versions: versions exist to break.
func CheckCompatibility(prev, next *Plan, force Compatibility) Verdict {
	v := Verdict{Mode: force, Compatible: true}
	if prev == nil {
		return v
	}
	nextByTarget := map[string]*Schema{}
	for _, s := range next.Schemas {
		nextByTarget[s.Target()] = s
	}
	modeOf := func(s *Schema) Compatibility {
		if force != "" {
			return force
		}
		return s.Compatibility
	}
	for _, old := range prev.Schemas {
		s := nextByTarget[old.Target()]
		if s == nil {
			if m := modeOf(old); m == Backward || m == Full {
				v.Problems = append(v.Problems, Problem{Target: old.Target(), Mode: m, Direction: "backward",
					Reason: "schema removed: its events, valid under the previous plan, become unplanned"})
			}
			continue
		}
		m := modeOf(s)
		if m == Backward || m == Full {
			c := &compatChecker{target: s.Target(), mode: m, dir: "backward", reader: "new", writer: "previous"}
			c.check(s.Root, old.Root, "")
			v.Problems = append(v.Problems, c.problems...)
		}
		if m == Forward || m == Full {
			c := &compatChecker{target: s.Target(), mode: m, dir: "forward", reader: "previous", writer: "new"}
			c.check(old.Root, s.Root, "")
			v.Problems = append(v.Problems, c.problems...)
		}
	}
	v.Compatible = len(v.Problems) == 0
	return v
}

// compatChecker checks that a reader type accepts every JSON value a writer
// type accepts, collecting one problem per offending field.
type compatChecker struct {
	target, dir    string
	mode           Compatibility
	reader, writer string // "new" or "previous", for messages
	problems       []Problem
}

func (c *compatChecker) add(path, reason string) {
	c.problems = append(c.problems, Problem{Target: c.target, Path: path, Mode: c.mode, Direction: c.dir, Reason: reason})
}

func (c *compatChecker) typeProblem(path string, r, w *Type) {
	c.add(path, "the "+c.reader+" type "+r.String()+" does not accept every value of the "+c.writer+" type "+w.String())
}

// check records why r does not accept every value w accepts, if it does not.
func (c *compatChecker) check(r, w *Type, path string) {
	if w.Kind == Union {
		for _, b := range w.Branches {
			c.check(r, b, path)
		}
		return
	}
	if r.Kind == Union {
		var closest *Type
		for _, b := range r.Branches {
			sub := &compatChecker{}
			sub.check(b, w, path)
			if len(sub.problems) == 0 {
				return
			}
			if closest == nil && jsonClass(b) == jsonClass(w) {
				closest = b
			}
		}
		if closest != nil {
			c.check(closest, w, path)
			return
		}
		c.typeProblem(path, r, w)
		return
	}
	switch {
	case r.Kind == Record && w.Kind == Record:
		c.checkRecord(r, w, path)
	case r.Kind == Array && w.Kind == Array:
		c.check(r.Items, w.Items, path+"[]")
	case r.Kind == Map && w.Kind == Map:
		c.check(r.Values, w.Values, path+"{}")
	case r.Kind == Enum && w.Kind == Enum:
		if lost := missing(w.Symbols, r.Symbols); len(lost) > 0 {
			c.add(path, "enum symbols "+strings.Join(lost, ", ")+" of the "+c.writer+" type are not in the "+c.reader+" type")
		}
	case r.Logical != w.Logical && r.Logical != "" && w.Logical != "":
		c.add(path, "logical type changed between "+w.Logical+" ("+c.writer+") and "+r.Logical+" ("+c.reader+"): the meaning of values changes")
	case !scalarAccepts(r, w):
		c.typeProblem(path, r, w)
	}
}

func (c *compatChecker) checkRecord(r, w *Type, path string) {
	for _, rf := range r.Fields {
		fp := joinPath(path, rf.Name)
		wf := matchField(w, rf)
		switch {
		case wf == nil && !rf.Optional():
			c.add(fp, "required in the "+c.reader+" schema but absent from the "+c.writer+" one: events valid before lack it")
		case wf == nil:
		case wf.Optional() && !rf.Optional():
			c.add(fp, "required in the "+c.reader+" schema but optional in the "+c.writer+" one")
			c.check(rf.Type, wf.Type.NonNull(), fp)
		default:
			c.check(rf.Type, wf.Type, fp)
		}
	}
}

// matchField finds the writer field a reader field reads: same name, or an
// alias on either side.
func matchField(w *Type, rf *Field) *Field {
	if f := w.Field(rf.Name); f != nil {
		return f
	}
	for _, f := range w.Fields {
		for _, a := range rf.Aliases {
			if f.Name == a {
				return f
			}
		}
		for _, a := range f.Aliases {
			if a == rf.Name {
				return f
			}
		}
	}
	return nil
}

// numRank orders plain numeric kinds by the JSON numbers they accept:
// int ⊂ long ⊂ float ⊂ double (float and double by range).
func numRank(k Kind) int {
	switch k {
	case Int:
		return 1
	case Long:
		return 2
	case Float:
		return 3
	case Double:
		return 4
	}
	return 0
}

// scalarAccepts reports whether every JSON value of the non-union,
// non-container type w is a valid value of r.
func scalarAccepts(r, w *Type) bool {
	rs, ws := acceptsStrings(r), acceptsStrings(w)
	if r.Kind == w.Kind && r.Logical == w.Logical {
		switch r.Kind {
		case Fixed:
			return r.Size == w.Size && r.Precision == w.Precision && r.Scale == w.Scale
		case Bytes:
			return r.Precision == w.Precision && r.Scale == w.Scale
		}
		return r.Kind != Record && r.Kind != Enum // same-kind containers are handled by check
	}
	switch {
	case r.Kind == Null || r.Kind == Boolean || w.Kind == Null || w.Kind == Boolean:
		return false
	case numRank(r.Kind) > 0 && numRank(w.Kind) > 0:
		// A logical reader (timestamp, date) also takes plain numbers of its
		// range; a plain reader refuses the strings a logical writer takes.
		return numRank(r.Kind) >= numRank(w.Kind) && (w.Logical == "" || r.Logical == w.Logical)
	case rs == strAny:
		// string and bytes take every string: enums, fixed, uuids included.
		return ws != strNone && numRank(w.Kind) == 0 && w.Logical != LogicalDecimal
	}
	return false
}

// The strings a scalar type accepts.
const (
	strNone = iota
	strSome // enum symbols, uuids, ISO-8601 texts, fixed-size, numeric
	strAny
)

func acceptsStrings(t *Type) int {
	switch {
	case (t.Kind == String || t.Kind == Bytes) && t.Logical == "":
		return strAny
	case t.Kind == String, t.Kind == Bytes, t.Kind == Enum, t.Kind == Fixed, t.Logical != "":
		return strSome
	}
	return strNone
}

// jsonClass groups types by the JSON they take, to pick the union branch a
// problem is best explained against.
func jsonClass(t *Type) int {
	switch t.Kind {
	case Null:
		return 1
	case Boolean:
		return 2
	case Int, Long, Float, Double:
		return 3
	case String, Bytes, Enum, Fixed:
		return 4
	case Array:
		return 5
	}
	return 6 // records and maps: JSON objects
}
