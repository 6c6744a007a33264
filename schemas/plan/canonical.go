package plan

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Canonical renders t as one self-contained Avro schema in a fixed form:
// each named type defined where it is first used and referred to by full
// name afterwards, attributes in a fixed order, no whitespace, unknown
// attributes dropped. Two schemas that mean the same render the same, which
// makes the form the basis of the content hash; goavro checks this form.
func Canonical(t *Type) string {
	var b bytes.Buffer
	writeCanonical(&b, t, map[*Type]bool{})
	return b.String()
}

func writeCanonical(b *bytes.Buffer, t *Type, defined map[*Type]bool) {
	switch t.Kind {
	case Record, Enum, Fixed:
		if defined[t] {
			writeJSONString(b, t.Name)
			return
		}
		defined[t] = true
	}
	switch t.Kind {
	case Record:
		b.WriteString(`{"type":"record","name":`)
		writeJSONString(b, t.Name)
		writeDocAliases(b, t.Doc, t.Aliases)
		b.WriteString(`,"fields":[`)
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(`{"name":`)
			writeJSONString(b, f.Name)
			b.WriteString(`,"type":`)
			writeCanonical(b, f.Type, defined)
			writeDocAliases(b, f.Doc, f.Aliases)
			if f.Default != nil {
				b.WriteString(`,"default":`)
				b.Write(f.Default)
			}
			b.WriteByte('}')
		}
		b.WriteString("]}")
	case Enum:
		b.WriteString(`{"type":"enum","name":`)
		writeJSONString(b, t.Name)
		writeDocAliases(b, t.Doc, t.Aliases)
		b.WriteString(`,"symbols":[`)
		for i, s := range t.Symbols {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, s)
		}
		b.WriteByte(']')
		if t.EnumDefault != "" {
			b.WriteString(`,"default":`)
			writeJSONString(b, t.EnumDefault)
		}
		b.WriteByte('}')
	case Fixed:
		b.WriteString(`{"type":"fixed","name":`)
		writeJSONString(b, t.Name)
		writeDocAliases(b, t.Doc, t.Aliases)
		b.WriteString(`,"size":` + strconv.Itoa(t.Size))
		writeLogical(b, t)
		b.WriteByte('}')
	case Array:
		b.WriteString(`{"type":"array","items":`)
		writeCanonical(b, t.Items, defined)
		b.WriteByte('}')
	case Map:
		b.WriteString(`{"type":"map","values":`)
		writeCanonical(b, t.Values, defined)
		b.WriteByte('}')
	case Union:
		b.WriteByte('[')
		for i, br := range t.Branches {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, br, defined)
		}
		b.WriteByte(']')
	default:
		if t.Logical == "" {
			writeJSONString(b, t.Kind.String())
			return
		}
		b.WriteString(`{"type":`)
		writeJSONString(b, t.Kind.String())
		writeLogical(b, t)
		b.WriteByte('}')
	}
}

func writeLogical(b *bytes.Buffer, t *Type) {
	if t.Logical == "" {
		return
	}
	b.WriteString(`,"logicalType":`)
	writeJSONString(b, t.Logical)
	if t.Logical == LogicalDecimal {
		b.WriteString(`,"precision":` + strconv.Itoa(t.Precision) + `,"scale":` + strconv.Itoa(t.Scale))
	}
}

func writeDocAliases(b *bytes.Buffer, doc string, aliases []string) {
	if doc != "" {
		b.WriteString(`,"doc":`)
		writeJSONString(b, doc)
	}
	if len(aliases) > 0 {
		b.WriteString(`,"aliases":[`)
		for i, a := range aliases {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, a)
		}
		b.WriteByte(']')
	}
}

func writeJSONString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // marshalling a string cannot fail
	b.Write(q)
}
