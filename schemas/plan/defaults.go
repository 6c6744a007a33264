package plan

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"unicode/utf8"
)

// checkDefaults checks every field default below t against its field's type,
// as Avro writes defaults: a union's default matches its first branch.
func checkDefaults(c *collector, file string, t *Type, path string, done map[*Type]bool) {
	if done[t] {
		return
	}
	done[t] = true
	switch t.Kind {
	case Record:
		for _, f := range t.Fields {
			fp := joinPath(path, f.Name)
			if f.Default != nil {
				dec := json.NewDecoder(bytes.NewReader(f.Default))
				dec.UseNumber()
				var v any
				if err := dec.Decode(&v); err == nil {
					if msg := defaultProblem(f.Type, v); msg != "" {
						c.add(file, fp, "default %s: %s", f.Default, msg)
					}
				}
			}
			checkDefaults(c, file, f.Type, fp, done)
		}
	case Array:
		checkDefaults(c, file, t.Items, path+"[]", done)
	case Map:
		checkDefaults(c, file, t.Values, path+"{}", done)
	case Union:
		for _, b := range t.Branches {
			checkDefaults(c, file, b, path, done)
		}
	}
}

// defaultProblem says why v is not a valid default of type t, or "".
func defaultProblem(t *Type, v any) string {
	want := func() string { return "not a valid " + t.String() }
	switch t.Kind {
	case Null:
		if v != nil {
			return want()
		}
	case Boolean:
		if _, ok := v.(bool); !ok {
			return want()
		}
	case Int, Long:
		n, ok := v.(json.Number)
		if !ok {
			return want()
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil || (t.Kind == Int && (i < math.MinInt32 || i > math.MaxInt32)) {
			return want()
		}
	case Float, Double:
		if _, ok := v.(json.Number); !ok {
			return want()
		}
	case String, Bytes:
		if _, ok := v.(string); !ok {
			return want()
		}
	case Fixed:
		s, ok := v.(string)
		if !ok || utf8.RuneCountInString(s) != t.Size {
			return want() + " (a string of " + strconv.Itoa(t.Size) + " characters)"
		}
	case Enum:
		s, _ := v.(string)
		for _, sym := range t.Symbols {
			if s == sym {
				return ""
			}
		}
		return want()
	case Array:
		l, ok := v.([]any)
		if !ok {
			return want()
		}
		for _, e := range l {
			if msg := defaultProblem(t.Items, e); msg != "" {
				return msg
			}
		}
	case Map:
		m, ok := v.(map[string]any)
		if !ok {
			return want()
		}
		for _, e := range m {
			if msg := defaultProblem(t.Values, e); msg != "" {
				return msg
			}
		}
	case Record:
		m, ok := v.(map[string]any)
		if !ok {
			return want()
		}
		for _, f := range t.Fields {
			fv, has := m[f.Name]
			if !has {
				if f.Default == nil {
					return "field " + quote(f.Name) + " missing and has no default"
				}
				continue
			}
			if msg := defaultProblem(f.Type, fv); msg != "" {
				return msg
			}
		}
	case Union:
		if msg := defaultProblem(t.Branches[0], v); msg != "" {
			return msg + ": a union's default must match its first branch, " + t.Branches[0].String()
		}
	}
	return ""
}
