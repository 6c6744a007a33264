package validate

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
)

// rnd draws numbers from the fuzzer's bytes; zeros once they run out.
type rnd struct {
	b []byte
	i int
}

func (r *rnd) n(max int) int {
	if r.i >= len(r.b) || max <= 1 {
		r.i++
		return 0
	}
	v := int(r.b[r.i]) % max
	r.i++
	return v
}

// gen is a generated type: its schema text and a way to make valid values.
type gen struct {
	schema string
	value  func(r *rnd) string
	null   bool // the type admits null (optional fields)
	union  bool
}

type generator struct {
	names int
}

func (g *generator) name() string {
	g.names++
	return "T" + strconv.Itoa(g.names)
}

var scalarValues = map[string][]string{
	`"boolean"`: {`true`, `false`},
	`"int"`:     {`0`, `-7`, `2147483647`, `-2147483648`, `1.0`},
	`"long"`:    {`9223372036854775807`, `-1`, `42`, `1e3`},
	`"float"`:   {`1.5`, `-0.25`, `3e38`, `7`},
	`"double"`:  {`1e300`, `-2.5E-3`, `0`, `123456789012345678901234567890`},
	`"string"`:  {`""`, `"héllo"`, `"esc \" \\ \u00e9 \ud83d\ude00"`, `"12"`},
	`"bytes"`:   {`"\u0000\u00ff"`, `"abc"`},
	`{"type":"long","logicalType":"timestamp-millis"}`:                 {`1714564800123`, `"2024-05-01T12:00:00Z"`, `"2024-02-29 23:59:59.999+05:30"`, `"1999-12-31"`},
	`{"type":"int","logicalType":"date"}`:                              {`19000`, `"2000-02-29"`},
	`{"type":"string","logicalType":"uuid"}`:                           {`"123e4567-e89b-12d3-a456-426614174000"`},
	`{"type":"bytes","logicalType":"decimal","precision":6,"scale":2}`: {`1234.56`, `"-0.01"`, `7`},
}

var scalarOrder = func() []string {
	var keys []string
	for k := range scalarValues {
		keys = append(keys, k)
	}
	// map order is random: sort for reproducible fuzzing
	for i := range keys {
		for j := i + 1; j < len(keys); j++ {
			if keys[j] < keys[i] {
				keys[i], keys[j] = keys[j], keys[i]
			}
		}
	}
	return keys
}()

func pick(r *rnd, vs []string) string { return vs[r.n(len(vs))] }

// typ generates a random type no deeper than depth.
func (g *generator) typ(r *rnd, depth int) gen {
	k := r.n(10)
	if depth <= 0 {
		k = 0
	}
	switch k {
	case 1: // array
		e := g.typ(r, depth-1)
		return gen{schema: `{"type":"array","items":` + e.schema + `}`, value: func(r *rnd) string {
			n := r.n(4)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = e.value(r)
			}
			return "[" + strings.Join(parts, ",") + "]"
		}}
	case 2: // map
		e := g.typ(r, depth-1)
		return gen{schema: `{"type":"map","values":` + e.schema + `}`, value: func(r *rnd) string {
			n := r.n(3)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = `"k` + strconv.Itoa(i) + `":` + e.value(r)
			}
			return "{" + strings.Join(parts, ",") + "}"
		}}
	case 3, 4: // record
		return g.record(r, depth-1)
	case 5: // nullable
		e := g.typ(r, depth-1)
		if e.null || e.union {
			return e
		}
		return gen{schema: `["null",` + e.schema + `]`, null: true, value: func(r *rnd) string {
			if r.n(3) == 0 {
				return "null"
			}
			return e.value(r)
		}}
	case 6: // enum
		syms := []string{"A", "B", "C_1"}[:1+r.n(3)]
		return gen{schema: `{"type":"enum","name":"` + g.name() + `","symbols":["` + strings.Join(syms, `","`) + `"]}`,
			value: func(r *rnd) string { return `"` + pick(r, syms) + `"` }}
	case 7: // fixed
		n := 1 + r.n(4)
		return gen{schema: `{"type":"fixed","name":"` + g.name() + `","size":` + strconv.Itoa(n) + `}`,
			value: func(r *rnd) string { return `"` + strings.Repeat("é", n) + `"` }}
	case 8: // two-class union
		return gen{schema: `["int","string",{"type":"array","items":"long"}]`, union: true, value: func(r *rnd) string {
			return pick(r, []string{`5`, `"x"`, `[1,2]`, `[]`})
		}}
	}
	s := scalarOrder[r.n(len(scalarOrder))]
	return gen{schema: s, value: func(r *rnd) string { return pick(r, scalarValues[s]) }}
}

func (g *generator) record(r *rnd, depth int) gen {
	n := 1 + r.n(5)
	fields := make([]gen, n)
	var schema []string
	for i := range fields {
		fields[i] = g.typ(r, depth)
		f := `{"name":"f` + strconv.Itoa(i) + `","type":` + fields[i].schema
		if fields[i].null && strings.HasPrefix(fields[i].schema, `["null"`) {
			f += `,"default":null`
		}
		schema = append(schema, f+"}")
	}
	return gen{schema: `{"type":"record","name":"` + g.name() + `","fields":[` + strings.Join(schema, ",") + `]}`,
		value: func(r *rnd) string {
			var parts []string
			for i, f := range fields {
				if f.null && r.n(2) == 0 {
					continue // optional: may be absent
				}
				parts = append(parts, `"f`+strconv.Itoa(i)+`":`+f.value(r))
			}
			return "{" + strings.Join(parts, ",") + "}"
		}}
}

// FuzzValidate generates a schema and a value valid for it from the fuzzer's
// bytes, and also feeds the raw bytes as properties. Valid values must pass
// without violations; nothing may panic; JSON validity must agree with
// encoding/json; omitted output must be JSON that no longer has the
// omitted problems.
func FuzzValidate(f *testing.F) {
	f.Add([]byte{3, 1, 2, 3, 4, 5, 6, 7, 8, 9}, []byte(`{"f0":1}`))
	f.Add([]byte{4, 4, 1, 6, 2, 5, 8, 9, 0, 1, 2}, []byte(`{"f0":[1,"x",{"a":null}],"f9":true}`))
	f.Add([]byte{3, 8, 5, 1, 3, 2, 2, 2}, []byte(`{"f0":{"f0":"2024-01-01"},"f1":[{"k":1}]}`))
	f.Add([]byte{}, []byte(`[`))
	f.Fuzz(func(t *testing.T, seed, props []byte) {
		r := &rnd{b: seed}
		g := &generator{}
		root := g.record(r, 3)
		p, err := plan.Check(plan.Files{
			"plan.yaml": []byte("name: f\nowners: [o]\npolicy: {unplannedProperties: omit, typeViolations: omit}\nevents: {E: {versions: {1: e.avsc}}}\n"),
			"e.avsc":    []byte(root.schema),
		})
		if err != nil {
			t.Fatalf("generated schema rejected: %v\n%s", err, root.schema)
		}
		v := New()
		if err := v.Put(p, 1); err != nil {
			t.Fatal(err)
		}
		var res Result
		for range 3 {
			val := root.value(r)
			if err := v.Validate(track("f", "E", val), &res); err != nil || len(res.Violations) > 0 || res.Outcome != Pass {
				t.Fatalf("valid value refused: %v %s\nschema %s\nvalue  %s", err, kinds(res.Violations), root.schema, val)
			}
		}

		err = v.Validate(track("f", "E", string(props)), &res)
		trimmed := strings.TrimSpace(string(props))
		if trimmed != "" && depth(props) < maxSkipDepth && (err == nil) != json.Valid(props) {
			t.Fatalf("validity disagrees with encoding/json: err=%v for %q", err, props)
		}
		if err != nil || res.Outcome != Omitted {
			return
		}
		if !json.Valid(res.Properties) {
			t.Fatalf("omitted output is not JSON: %q from %q", res.Properties, props)
		}
		out := append([]byte(nil), res.Properties...)
		if err := v.Validate(track("f", "E", string(out)), &res); err != nil {
			t.Fatal(err)
		}
		for _, viol := range res.Violations {
			if viol.Kind != RequiredMissing {
				t.Fatalf("after omission still %s at %s\ninput  %s\noutput %s\nschema %s", viol.Kind, viol.Path, props, out, root.schema)
			}
		}
	})
}

// depth is the bracket nesting of JSON text (ignoring strings).
func depth(b []byte) int {
	d, max, inStr := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && (c == '{' || c == '['):
			d++
			if d > max {
				max = d
			}
		case !inStr && (c == '}' || c == ']'):
			d--
		}
	}
	return max
}
