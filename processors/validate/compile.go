package validate

import (
	"fmt"

	"github.com/sluicehq/sluice/schemas/plan"
)

// logical is a logical type the walker understands, as a small integer.
type logical uint8

const (
	lNone logical = iota
	lDate
	lTimeMillis
	lTimeMicros
	lTimestampMillis
	lTimestampMicros
	lUUID
	lDecimal
)

func logicalOf(s string) logical {
	switch s {
	case plan.LogicalDate:
		return lDate
	case plan.LogicalTimeMillis:
		return lTimeMillis
	case plan.LogicalTimeMicros:
		return lTimeMicros
	case plan.LogicalTimestampMillis, plan.LogicalLocalTimestampMillis:
		return lTimestampMillis
	case plan.LogicalTimestampMicros, plan.LogicalLocalTimestampMicros:
		return lTimestampMicros
	case plan.LogicalUUID:
		return lUUID
	case plan.LogicalDecimal:
		return lDecimal
	}
	return lNone
}

// JSON classes a value can start with; unions pick branches by class.
const (
	cNull = iota
	cBool
	cNumber
	cString
	cArray
	cObject
	nClasses
)

// node is a compiled Avro type: what the walker checks a JSON value against.
type node struct {
	kind     plan.Kind
	logical  logical
	typ      *plan.Type
	expected string // typ.String(), for violations

	// record
	fields   []field
	index    map[string]int // for records with many fields
	required []int          // indexes of required fields

	symbols []string // enum
	size    int      // fixed
	prec    int      // decimal precision
	scale   int      // decimal scale
	elem    *node    // array items, map values

	// union: the branches that accept each JSON class, in schema order.
	byClass [nClasses][]*node
}

// field is a compiled record field.
type field struct {
	name     string
	node     *node
	optional bool
	def      Value // the default as a Value (Present false)
}

// indexThreshold is the field count from which records look keys up in a
// map rather than scanning: scanning wins for the usual handful of fields.
const indexThreshold = 16

// compiler turns plan types into nodes, sharing the node of a named type.
type compiler struct {
	memo map[*plan.Type]*node
}

func (c *compiler) compile(t *plan.Type) (*node, error) {
	if n, ok := c.memo[t]; ok {
		return n, nil
	}
	n := &node{kind: t.Kind, logical: logicalOf(t.Logical), typ: t, expected: t.String()}
	c.memo[t] = n
	var err error
	switch t.Kind {
	case plan.Record:
		for i, f := range t.Fields {
			fn, err := c.compile(f.Type)
			if err != nil {
				return nil, err
			}
			n.fields = append(n.fields, field{name: f.Name, node: fn, optional: f.Optional()})
			if !f.Optional() {
				n.required = append(n.required, i)
			}
		}
		if len(n.fields) >= indexThreshold {
			n.index = make(map[string]int, len(n.fields))
			for i, f := range n.fields {
				n.index[f.name] = i
			}
		}
		for i, f := range t.Fields {
			n.fields[i].def = Value{Field: f}
			if f.Default != nil {
				n.fields[i].def, err = defaultValue(n.fields[i].node, f)
				if err != nil {
					return nil, err
				}
			}
		}
	case plan.Enum:
		n.symbols = t.Symbols
	case plan.Fixed:
		n.size = t.Size
		n.prec, n.scale = t.Precision, t.Scale
	case plan.Bytes:
		n.prec, n.scale = t.Precision, t.Scale
	case plan.Array:
		n.elem, err = c.compile(t.Items)
	case plan.Map:
		n.elem, err = c.compile(t.Values)
	case plan.Union:
		for _, b := range t.Branches {
			bn, err := c.compile(b)
			if err != nil {
				return nil, err
			}
			for cl := range nClasses {
				if accepts(bn, cl) {
					n.byClass[cl] = append(n.byClass[cl], bn)
				}
			}
		}
	}
	return n, err
}

// accepts reports whether a node may accept some JSON value of a class.
func accepts(n *node, class int) bool {
	switch n.kind {
	case plan.Null:
		return class == cNull
	case plan.Boolean:
		return class == cBool
	case plan.Int, plan.Long:
		return class == cNumber || (class == cString && n.logical != lNone)
	case plan.Float, plan.Double:
		return class == cNumber
	case plan.String, plan.Enum:
		return class == cString
	case plan.Bytes, plan.Fixed:
		return class == cString || (class == cNumber && n.logical == lDecimal)
	case plan.Array:
		return class == cArray
	case plan.Map, plan.Record:
		return class == cObject
	}
	return false
}

// defaultValue checks a field's default with the walker and keeps it as the
// Value absent fields carry.
func defaultValue(n *node, f *plan.Field) (Value, error) {
	var r Result
	w := walker{Scanner: scannerOf(f.Default), r: &r, pol: plan.DefaultPolicy}
	v := Value{Field: f, Raw: f.Default}
	w.SkipSpace()
	if !w.value(n, &v) || w.err != nil || len(r.Violations) > 0 {
		return Value{}, fmt.Errorf("validate: field %q: default %s does not fit %s", f.Name, f.Default, n.expected)
	}
	v.Present = false
	return v, nil
}
