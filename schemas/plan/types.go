package plan

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Kind is an Avro type.
type Kind uint8

// The Avro types. kindRef marks a reference to a named type that is not yet
// resolved; it never leaves the loader.
const (
	Null Kind = iota + 1
	Boolean
	Int
	Long
	Float
	Double
	Bytes
	String
	Record
	Enum
	Array
	Map
	Union
	Fixed
	kindRef
)

var kindNames = [...]string{
	Null: "null", Boolean: "boolean", Int: "int", Long: "long", Float: "float",
	Double: "double", Bytes: "bytes", String: "string", Record: "record",
	Enum: "enum", Array: "array", Map: "map", Union: "union", Fixed: "fixed",
	kindRef: "reference",
}

// String is the Avro name of the kind.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// primitiveKind maps the Avro primitive type names.
func primitiveKind(name string) (Kind, bool) {
	switch name {
	case "null":
		return Null, true
	case "boolean":
		return Boolean, true
	case "int":
		return Int, true
	case "long":
		return Long, true
	case "float":
		return Float, true
	case "double":
		return Double, true
	case "bytes":
		return Bytes, true
	case "string":
		return String, true
	}
	return 0, false
}

// Logical types understood by plans. A logicalType attribute outside this
// list, or on the wrong underlying type, is an error: a typo must not
// silently turn a timestamp into a plain long.
const (
	LogicalDate                 = "date"                   // int: days since 1970-01-01; JSON "YYYY-MM-DD" or int
	LogicalTimeMillis           = "time-millis"            // int: ms after midnight; JSON "HH:MM:SS[.fff]" or int
	LogicalTimeMicros           = "time-micros"            // long: µs after midnight
	LogicalTimestampMillis      = "timestamp-millis"       // long: ms since the epoch; JSON ISO-8601 or int
	LogicalTimestampMicros      = "timestamp-micros"       // long: µs since the epoch
	LogicalLocalTimestampMillis = "local-timestamp-millis" // long: local ms
	LogicalLocalTimestampMicros = "local-timestamp-micros" // long: local µs
	LogicalUUID                 = "uuid"                   // string: RFC 4122 text form
	LogicalDecimal              = "decimal"                // bytes or fixed: JSON number or numeric string
)

// logicalBase says which underlying kinds a logical type may annotate.
func logicalBase(logical string) []Kind {
	switch logical {
	case LogicalDate, LogicalTimeMillis:
		return []Kind{Int}
	case LogicalTimeMicros, LogicalTimestampMillis, LogicalTimestampMicros,
		LogicalLocalTimestampMillis, LogicalLocalTimestampMicros:
		return []Kind{Long}
	case LogicalUUID:
		return []Kind{String}
	case LogicalDecimal:
		return []Kind{Bytes, Fixed}
	}
	return nil
}

// Type is one node of an Avro schema. Named types (records, enums, fixed)
// appear once per definition and are shared by every reference to them.
type Type struct {
	Kind Kind
	// Name is the full name of a record, enum or fixed.
	Name    string
	Doc     string
	Aliases []string
	// Logical is the logicalType attribute, one of the Logical* constants.
	Logical          string
	Precision, Scale int // decimal
	Size             int // fixed
	Symbols          []string
	// EnumDefault is the enum's default symbol; empty when none.
	EnumDefault string
	Fields      []*Field // record
	Items       *Type    // array
	Values      *Type    // map
	Branches    []*Type  // union

	// refNS is the namespace a reference was written in (kindRef only).
	refNS string
}

// Field is one field of a record.
type Field struct {
	Name    string
	Doc     string
	Aliases []string
	Type    *Type
	// Default is the default value as compact JSON; nil when the field has
	// none (a JSON null default is the 4 bytes "null").
	Default json.RawMessage
}

// Optional reports whether the field may be absent from an event: its type
// admits null or it has a default. A field that is not optional is required.
func (f *Field) Optional() bool { return f.Default != nil || f.Type.Nullable() }

// Nullable reports whether the type admits JSON null.
func (t *Type) Nullable() bool {
	if t.Kind == Null {
		return true
	}
	if t.Kind == Union {
		for _, b := range t.Branches {
			if b.Kind == Null {
				return true
			}
		}
	}
	return false
}

// NonNull is the type without its null branch: X for [null, X] (in either
// order), a union of the rest for larger unions, and t itself otherwise.
func (t *Type) NonNull() *Type {
	if t.Kind != Union {
		return t
	}
	rest := make([]*Type, 0, len(t.Branches))
	for _, b := range t.Branches {
		if b.Kind != Null {
			rest = append(rest, b)
		}
	}
	switch {
	case len(rest) == len(t.Branches):
		return t
	case len(rest) == 1:
		return rest[0]
	case len(rest) == 0:
		return &Type{Kind: Null}
	}
	return &Type{Kind: Union, Branches: rest}
}

// Field returns the record field with the given name, or nil.
func (t *Type) Field(name string) *Field {
	for _, f := range t.Fields {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// ShortName is the name without its namespace.
func (t *Type) ShortName() string {
	if i := strings.LastIndexByte(t.Name, '.'); i >= 0 {
		return t.Name[i+1:]
	}
	return t.Name
}

// String is a compact notation used in diffs and violations: "string",
// "long(timestamp-millis)", "array<Product>", "map<double>",
// "enum Currency{USD,EUR}", "union<null,string>", "record Product".
func (t *Type) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t *Type) write(b *strings.Builder) {
	switch t.Kind {
	case Record:
		b.WriteString("record ")
		b.WriteString(t.ShortName())
	case Enum:
		b.WriteString("enum ")
		b.WriteString(t.ShortName())
		b.WriteByte('{')
		b.WriteString(strings.Join(t.Symbols, ","))
		b.WriteByte('}')
	case Fixed:
		b.WriteString("fixed ")
		b.WriteString(t.ShortName())
		b.WriteByte('(')
		b.WriteString(strconv.Itoa(t.Size))
		b.WriteByte(')')
	case Array:
		b.WriteString("array<")
		t.Items.writeRef(b)
		b.WriteByte('>')
	case Map:
		b.WriteString("map<")
		t.Values.writeRef(b)
		b.WriteByte('>')
	case Union:
		b.WriteString("union<")
		for i, br := range t.Branches {
			if i > 0 {
				b.WriteByte(',')
			}
			br.writeRef(b)
		}
		b.WriteByte('>')
	case kindRef:
		b.WriteString(t.Name)
	default:
		b.WriteString(t.Kind.String())
	}
	if t.Logical != "" {
		b.WriteByte('(')
		b.WriteString(t.Logical)
		if t.Logical == LogicalDecimal {
			b.WriteString("," + strconv.Itoa(t.Precision) + "," + strconv.Itoa(t.Scale))
		}
		b.WriteByte(')')
	}
}

// writeRef writes named types by short name only, keeping nested notations short.
func (t *Type) writeRef(b *strings.Builder) {
	switch t.Kind {
	case Record, Enum, Fixed:
		b.WriteString(t.ShortName())
	default:
		t.write(b)
	}
}
