package plan

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// maxDepth bounds schema nesting so hostile input cannot exhaust the stack.
const maxDepth = 64

// parsed is one .avsc file turned into types whose references are not yet
// resolved.
type parsed struct {
	file string
	root *Type
	defs map[string]*Type // named types defined in the file, by full name
	refs []*Type          // the kindRef nodes to resolve
}

// parser turns the JSON of one .avsc file into Types, reporting every
// problem with the field path where it occurs.
type parser struct {
	c   *collector
	out *parsed
}

// parseFile parses one schema file; nil when it is not JSON.
func parseFile(file string, src []byte, c *collector) *parsed {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		c.add(file, "", "%s", jsonError(src, err))
		return nil
	}
	if dec.More() {
		c.add(file, "", "invalid JSON: more than one value")
		return nil
	}
	p := &parser{c: c, out: &parsed{file: file, defs: map[string]*Type{}}}
	p.out.root = p.parse(v, "", "", 0)
	// Even with problems the tree is complete (bad nodes became null), so
	// resolving it still finds the file's other problems.
	return p.out
}

func (p *parser) fail(path, format string, args ...any) *Type {
	p.c.add(p.out.file, path, format, args...)
	return &Type{Kind: Null}
}

// parse parses one schema value written in namespace ns at the given path.
func (p *parser) parse(v any, ns, path string, depth int) *Type {
	if depth > maxDepth {
		return p.fail(path, "schema nested deeper than %d levels", maxDepth)
	}
	switch s := v.(type) {
	case string:
		if k, ok := primitiveKind(s); ok {
			return &Type{Kind: k}
		}
		switch s {
		case "record", "error", "enum", "array", "map", "fixed":
			return p.fail(path, "%q needs the object form {\"type\": %q, …}", s, s)
		}
		if err := checkFullName(s); err != "" {
			return p.fail(path, "unknown type %q: %s", s, err)
		}
		ref := &Type{Kind: kindRef, Name: s, refNS: ns}
		p.out.refs = append(p.out.refs, ref)
		return ref
	case []any:
		return p.parseUnion(s, ns, path, depth)
	case map[string]any:
		return p.parseObject(s, ns, path, depth)
	case nil:
		return p.fail(path, "a schema cannot be JSON null: did you mean \"null\"?")
	}
	return p.fail(path, "a schema is a type name, an object or a union array, not %s", jsonKind(v))
}

func (p *parser) parseUnion(branches []any, ns, path string, depth int) *Type {
	if len(branches) == 0 {
		return p.fail(path, "empty union")
	}
	u := &Type{Kind: Union}
	seen := map[string]bool{}
	for i, b := range branches {
		t := p.parse(b, ns, path, depth+1)
		key := t.Kind.String()
		switch t.Kind {
		case Union:
			p.fail(path, "union branch %d is itself a union: unions cannot nest", i)
		case Record, Enum, Fixed, kindRef:
			key = "name:" + t.Name
		}
		if seen[key] {
			p.fail(path, "union has two branches of type %s", strings.TrimPrefix(key, "name:"))
		}
		seen[key] = true
		u.Branches = append(u.Branches, t)
	}
	return u
}

func (p *parser) parseObject(m map[string]any, ns, path string, depth int) *Type {
	tv, ok := m["type"]
	if !ok {
		return p.fail(path, "schema object without \"type\"")
	}
	ts, ok := tv.(string)
	if !ok {
		// {"type": {...}} or {"type": [...]}: a wrapped schema.
		return p.parse(tv, ns, path, depth+1)
	}
	var t *Type
	switch ts {
	case "record", "error":
		t = p.parseRecord(m, ns, path, depth)
	case "enum":
		t = p.parseEnum(m, ns, path)
	case "array":
		items, ok := m["items"]
		if !ok {
			return p.fail(path, "array without \"items\"")
		}
		t = &Type{Kind: Array, Items: p.parse(items, ns, path+"[]", depth+1)}
	case "map":
		values, ok := m["values"]
		if !ok {
			return p.fail(path, "map without \"values\"")
		}
		t = &Type{Kind: Map, Values: p.parse(values, ns, path+"{}", depth+1)}
	case "fixed":
		t = p.parseFixed(m, ns, path)
	default:
		k, ok := primitiveKind(ts)
		if !ok {
			// {"type": "com.acme.Product"}: a reference in object form.
			return p.parse(ts, ns, path, depth+1)
		}
		t = &Type{Kind: k}
	}
	if d, ok := m["doc"].(string); ok && (t.Kind == Record || t.Kind == Enum || t.Kind == Fixed) {
		t.Doc = d
	}
	p.logical(t, m, path)
	return t
}

// logical reads the logicalType attribute and its parameters.
func (p *parser) logical(t *Type, m map[string]any, path string) {
	lv, ok := m["logicalType"]
	if !ok {
		return
	}
	l, ok := lv.(string)
	if !ok {
		p.fail(path, "logicalType must be a string")
		return
	}
	bases := logicalBase(l)
	if bases == nil {
		p.fail(path, "unknown logicalType %q (known: date, time-millis, time-micros, timestamp-millis, timestamp-micros, local-timestamp-millis, local-timestamp-micros, uuid, decimal)", l)
		return
	}
	okBase := false
	for _, k := range bases {
		okBase = okBase || k == t.Kind
	}
	if !okBase {
		p.fail(path, "logicalType %q does not apply to %s", l, t.Kind)
		return
	}
	t.Logical = l
	if l != LogicalDecimal {
		return
	}
	prec, ok := intAttr(m, "precision")
	if !ok || prec < 1 {
		p.fail(path, "decimal needs an integer precision of at least 1")
		return
	}
	scale := 0
	if _, has := m["scale"]; has {
		if scale, ok = intAttr(m, "scale"); !ok || scale < 0 || scale > prec {
			p.fail(path, "decimal scale must be an integer from 0 to the precision")
			return
		}
	}
	t.Precision, t.Scale = prec, scale
}

// define registers a named type, computing its full name as Avro does.
func (p *parser) define(m map[string]any, ns, path, what string) (*Type, string, bool) {
	name, ok := m["name"].(string)
	if !ok || name == "" {
		p.fail(path, "%s without a \"name\"", what)
		return nil, "", false
	}
	full := name
	inner := ns
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		inner = name[:i]
	} else {
		if nsv, has := m["namespace"]; has {
			s, isStr := nsv.(string)
			if !isStr {
				p.fail(path, "%s %q: namespace must be a string", what, name)
				return nil, "", false
			}
			if s != "" {
				inner = s
			}
		}
		if inner != "" {
			full = inner + "." + name
		}
	}
	if err := checkFullName(full); err != "" {
		p.fail(path, "%s name %q: %s", what, full, err)
		return nil, "", false
	}
	if _, prim := primitiveKind(full); prim {
		p.fail(path, "%s name %q is a primitive type name", what, full)
		return nil, "", false
	}
	if _, dup := p.out.defs[full]; dup {
		p.fail(path, "named type %q is defined twice in this file", full)
		return nil, "", false
	}
	t := &Type{Name: full, Aliases: stringList(m["aliases"])}
	p.out.defs[full] = t
	return t, inner, true
}

func (p *parser) parseRecord(m map[string]any, ns, path string, depth int) *Type {
	t, inner, ok := p.define(m, ns, path, "record")
	if !ok {
		return &Type{Kind: Null}
	}
	t.Kind = Record
	fields, ok := m["fields"].([]any)
	if !ok {
		return p.fail(path, "record %q needs a \"fields\" array", t.Name)
	}
	seen := map[string]bool{}
	for i, fv := range fields {
		fm, ok := fv.(map[string]any)
		if !ok {
			p.fail(path, "record %q: fields[%d] is not an object", t.Name, i)
			continue
		}
		name, _ := fm["name"].(string)
		fp := joinPath(path, name)
		if name == "" {
			p.fail(path, "record %q: fields[%d] has no \"name\"", t.Name, i)
			continue
		}
		if err := checkName(name); err != "" {
			p.fail(fp, "field name %q: %s", name, err)
			continue
		}
		if seen[name] {
			p.fail(fp, "field %q appears twice in record %q", name, t.Name)
			continue
		}
		seen[name] = true
		tv, ok := fm["type"]
		if !ok {
			p.fail(fp, "field without \"type\"")
			continue
		}
		f := &Field{Name: name, Type: p.parse(tv, inner, fp, depth+1), Aliases: stringList(fm["aliases"])}
		f.Doc, _ = fm["doc"].(string)
		if dv, has := fm["default"]; has {
			raw, err := json.Marshal(dv)
			if err != nil {
				p.fail(fp, "default: %v", err)
				continue
			}
			f.Default = raw
		}
		t.Fields = append(t.Fields, f)
	}
	return t
}

func (p *parser) parseEnum(m map[string]any, ns, path string) *Type {
	t, _, ok := p.define(m, ns, path, "enum")
	if !ok {
		return &Type{Kind: Null}
	}
	t.Kind = Enum
	syms, ok := m["symbols"].([]any)
	if !ok || len(syms) == 0 {
		return p.fail(path, "enum %q needs a non-empty \"symbols\" array", t.Name)
	}
	seen := map[string]bool{}
	for i, sv := range syms {
		s, ok := sv.(string)
		if !ok {
			p.fail(path, "enum %q: symbols[%d] is not a string", t.Name, i)
			continue
		}
		if err := checkName(s); err != "" {
			p.fail(path, "enum %q: symbol %q: %s", t.Name, s, err)
			continue
		}
		if seen[s] {
			p.fail(path, "enum %q: symbol %q appears twice", t.Name, s)
			continue
		}
		seen[s] = true
		t.Symbols = append(t.Symbols, s)
	}
	if dv, has := m["default"]; has {
		d, ok := dv.(string)
		if !ok || !seen[d] {
			p.fail(path, "enum %q: default must be one of its symbols", t.Name)
		}
		t.EnumDefault = d
	}
	return t
}

func (p *parser) parseFixed(m map[string]any, ns, path string) *Type {
	t, _, ok := p.define(m, ns, path, "fixed")
	if !ok {
		return &Type{Kind: Null}
	}
	t.Kind = Fixed
	size, ok := intAttr(m, "size")
	if !ok || size < 1 {
		return p.fail(path, "fixed %q needs a positive integer \"size\"", t.Name)
	}
	t.Size = size
	return t
}

func intAttr(m map[string]any, key string) (int, bool) {
	n, ok := m[key].(json.Number)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(n.String())
	return i, err == nil
}

func stringList(v any) []string {
	l, _ := v.([]any)
	var out []string
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// joinPath appends a field name to a dotted field path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// checkName checks an Avro name component: [A-Za-z_][A-Za-z0-9_]*.
func checkName(s string) string {
	if s == "" {
		return "empty name"
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return "Avro names are letters, digits and '_', not starting with a digit"
		}
	}
	return ""
}

// checkFullName checks a dotted full name.
func checkFullName(s string) string {
	for _, part := range strings.Split(s, ".") {
		if msg := checkName(part); msg != "" {
			return msg
		}
	}
	return ""
}

// jsonKind names the JSON kind of a decoded value for messages.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	}
	return "an object"
}
