package filter

import (
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// errNotObject reports properties that are neither absent, null nor an object.
var errNotObject = errors.New("properties is not a JSON object")

// pathTree is a set of property paths: children by member name; leaf when a
// path ends at this member (then its children do not matter).
type pathTree struct {
	children map[string]*pathTree
	leaf     bool
}

func newPathTree(paths []string) (*pathTree, error) {
	root := &pathTree{children: map[string]*pathTree{}}
	for _, p := range paths {
		parts, err := splitPath(p)
		if err != nil {
			return nil, err
		}
		t := root
		for _, name := range parts {
			if t.leaf {
				break
			}
			next := t.children[name]
			if next == nil {
				next = &pathTree{children: map[string]*pathTree{}}
				t.children[name] = next
			}
			t = next
		}
		t.leaf = true
	}
	return root, nil
}

// rewrite applies a dropProperties (allow=false) or allowProperties
// (allow=true) filter to a raw properties object. Absent or null properties
// are returned as they are; when nothing changes, the input slice itself is.
func rewrite(doc []byte, t *pathTree, allow bool) ([]byte, error) {
	start := jsonscan.SkipSpace(doc, 0)
	if start == len(doc) || doc[start] != '{' {
		_, _, ok, err := jsonscan.OnlyValue(doc)
		switch {
		case err != nil:
			return nil, fmt.Errorf("properties: %w", err)
		case ok:
			return nil, errNotObject
		}
		return doc, nil // absent or null
	}
	// edit allocates only when something changes: most events lose nothing.
	out, changed, end, err := edit(nil, doc, start, t, allow)
	if err == nil && jsonscan.SkipSpace(doc, end) != len(doc) {
		err = jsonscan.ErrSyntax
	}
	if err != nil {
		return nil, fmt.Errorf("properties: %w", err)
	}
	if !changed {
		return doc, nil
	}
	return out, nil
}

// memberEdit is what happens to one member: dropped, kept as it is, or kept
// with a rewritten value.
type memberEdit struct {
	m     jsonscan.Member
	drop  bool
	value []byte // rewritten value, or nil to keep the raw one
}

// edit appends to dst the object starting at b[start] with the filter
// applied, and reports whether anything changed (when nothing did, dst is
// returned untouched) and where the object ends. It validates the object as
// it goes, in the same pass.
func edit(dst, b []byte, start int, t *pathTree, allow bool) (out []byte, changed bool, end int, err error) {
	var buf [16]memberEdit
	edits := buf[:0]
	end, err = jsonscan.EachMember(b, start, 0, func(m jsonscan.Member) {
		e := memberEdit{m: m}
		var child *pathTree
		if m.Escaped {
			child = t.children[m.Name()]
		} else {
			child = t.children[string(m.Key)]
		}
		object := b[m.Start] == '{'
		switch {
		case child == nil:
			e.drop = allow
		case child.leaf:
			e.drop = !allow
		case object:
			// Already validated by the scan that found this member.
			sub, subChanged, _, _ := edit(nil, b, m.Start, child, allow)
			if subChanged {
				e.value = sub
			}
		default:
			// The path goes deeper than this value: nothing to drop in it,
			// and nothing in it is allowed.
			e.drop = allow
		}
		changed = changed || e.drop || e.value != nil
		edits = append(edits, e)
	})
	if err != nil {
		return nil, false, 0, err
	}
	if !changed {
		return dst, false, end, nil
	}
	if dst == nil {
		dst = make([]byte, 0, end-start)
	}
	dst = append(dst, '{')
	first := true
	for _, e := range edits {
		if e.drop {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, e.m.Key...)
		dst = append(dst, '"', ':')
		if e.value != nil {
			dst = append(dst, e.value...)
		} else {
			dst = append(dst, b[e.m.Start:e.m.End]...)
		}
	}
	return append(dst, '}'), true, end, nil
}
