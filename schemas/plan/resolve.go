package plan

// resolver replaces references to named types by their definitions: first
// the types defined in the same file, then the plan's shared type library.
type resolver struct {
	c     *collector
	file  string
	local map[string]*Type
	lib   map[string]*Type
	done  map[*Type]bool
}

// lookup finds a named type as goavro does: the name as written, then the
// name inside the namespace it was written in.
func (r *resolver) lookup(name, ns string) *Type {
	for _, m := range []map[string]*Type{r.local, r.lib} {
		if t, ok := m[name]; ok {
			return t
		}
		if ns != "" {
			if t, ok := m[ns+"."+name]; ok {
				return t
			}
		}
	}
	return nil
}

// fix returns t with every reference below it resolved.
func (r *resolver) fix(t *Type, path string) *Type {
	if t.Kind == kindRef {
		d := r.lookup(t.Name, t.refNS)
		if d == nil {
			r.c.add(r.file, path, "unknown type %q: not a primitive, not defined in this file nor in the plan's shared types", t.Name)
			return &Type{Kind: Null}
		}
		return d
	}
	if r.done[t] {
		return t
	}
	r.done[t] = true
	switch t.Kind {
	case Record:
		for _, f := range t.Fields {
			f.Type = r.fix(f.Type, joinPath(path, f.Name))
		}
	case Array:
		t.Items = r.fix(t.Items, path+"[]")
	case Map:
		t.Values = r.fix(t.Values, path+"{}")
	case Union:
		for i, b := range t.Branches {
			t.Branches[i] = r.fix(b, path)
		}
	}
	return t
}

// cycle reports the first named type that contains itself, with the path
// where the loop closes; recursive types have no warehouse columns.
func cycle(t *Type, path string, onStack, done map[*Type]bool) (string, string) {
	if done[t] {
		return "", ""
	}
	if onStack[t] {
		return t.Name, path
	}
	onStack[t] = true
	defer func() { delete(onStack, t); done[t] = true }()
	switch t.Kind {
	case Record:
		for _, f := range t.Fields {
			if n, p := cycle(f.Type, joinPath(path, f.Name), onStack, done); n != "" {
				return n, p
			}
		}
	case Array:
		return cycle(t.Items, path+"[]", onStack, done)
	case Map:
		return cycle(t.Values, path+"{}", onStack, done)
	case Union:
		for _, b := range t.Branches {
			if n, p := cycle(b, path, onStack, done); n != "" {
				return n, p
			}
		}
	}
	return "", ""
}
