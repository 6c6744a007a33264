package clickhouse

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/sluicehq/sluice/schemas/plan"
)

// Typed per-event tables: one per planned track event, named track_<event>
// in snake case, holding the event's identity columns and one column per
// top-level schema field. Each plan version's schema adds the columns it
// lacks; a field whose type maps to another column type than the table has
// is refused (SchemaError) rather than rewriting the table.

// typedBase are the columns every typed table starts with.
var typedBase = []column{
	colMessageID, colWorkspace, colSource, colUserID, colAnonymousID, colEvent,
	colTimestamp, colReceivedAt, colPlan, colPlanVersion, colEventVer,
	colTopic, colPartition, colOffset, colLoadedAt,
}

// typedTableDef is the definition of a typed table with the given field
// columns; it is created with the fields of the first schema seen.
func typedTableDef(name, event string, fields []column) *table {
	return &table{
		name:        name,
		comment:     "Typed copy of the planned track event " + event + ": one column per top-level property.",
		columns:     append(append([]column(nil), typedBase...), fields...),
		partitionBy: partitionByReceived,
		orderBy:     "workspace, toDate(timestamp), user_id",
		indexes:     []string{indexUser, indexAnonymous},
	}
}

// TypedTableName is the typed table of a track event: "track_" and the
// event's name in snake case ("Order Completed" → track_order_completed).
func TypedTableName(event string) string {
	var b strings.Builder
	b.WriteString("track_")
	under := true
	for _, r := range strings.ToLower(event) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
		if b.Len() >= 120 {
			break
		}
	}
	name := strings.TrimRight(b.String(), "_")
	if name == "track" {
		name = "track_unnamed"
	}
	return name
}

// kind is how a typed column is filled from a JSON value.
type kind uint8

const (
	kBool kind = iota + 1
	kInt
	kFloat
	kString  // a JSON string
	kEnum    // a JSON string, LowCardinality column
	kUUID    // a JSON string in the 8-4-4-4-12 form
	kDate    // days or "YYYY-MM-DD"
	kTSMilli // ms or ISO-8601
	kTSMicro // µs or ISO-8601
	kTimeMilli
	kTimeMicro
	kDecimal
	kObject // a JSON object, kept as JSON text for a JSON (or String) column
	kText   // any JSON value as text: strings as they are, others as JSON
	kArray  // Array(elem) of scalars
	kMap    // Map(String, elem) of scalars
)

// typedColumn is one field's column and how to fill it.
type typedColumn struct {
	column
	kind kind
	elem kind // kArray, kMap: the scalar kind of items
	// scale, precision: kDecimal
	precision, scale int
	// def is the field's default; its Type is gjson.Null... zero when none.
	def    gjson.Result
	hasDef bool
	// json is the field name in properties.
	json string
}

// reservedTyped are the column names a field cannot take in a typed table.
var reservedTyped = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range typedBase {
		m[c.name] = true
	}
	return m
}()

// typedColumns maps a schema's top-level fields to columns; fields of type
// null get none. jsonType is "JSON" or "String" (the JSON column mode).
func typedColumns(s *plan.Schema) []typedColumn {
	var out []typedColumn
	for _, f := range s.Root.Fields {
		tc, ok := mapField(f)
		if !ok {
			continue
		}
		name := f.Name
		if reservedTyped[name] {
			name = "prop_" + name
		}
		tc.name, tc.json = name, f.Name
		tc.comment = "properties." + f.Name + " (" + f.Type.String() + ")"
		if f.Doc != "" {
			tc.comment += ": " + f.Doc
		}
		if f.Default != nil {
			tc.def, tc.hasDef = gjson.ParseBytes(f.Default), true
		}
		out = append(out, tc)
	}
	return out
}

// mapField maps an Avro field type to a column. Every scalar column is
// Nullable: a value that does not fit (the plan's typeViolations policy may
// let it through) is NULL, and the raw value stays in tracks.properties.
func mapField(f *plan.Field) (typedColumn, bool) {
	t := f.Type.NonNull()
	if t.Kind == plan.Null {
		return typedColumn{}, false
	}
	if t.Kind == plan.Union {
		return typedColumn{column: column{typ: "Nullable(String)"}, kind: kText}, true
	}
	if k, typ, ok := scalar(t); ok {
		tc := typedColumn{column: column{typ: nullable(typ)}, kind: k}
		if k == kDecimal {
			tc.precision, tc.scale = t.Precision, t.Scale
		}
		return tc, true
	}
	switch t.Kind {
	case plan.Record:
		return typedColumn{column: column{typ: "JSON"}, kind: kObject}, true
	case plan.Array:
		if k, typ, ok := scalar(t.Items.NonNull()); ok && plainElem(k) && !t.Items.Nullable() {
			return typedColumn{column: column{typ: "Array(" + typ + ")"}, kind: kArray, elem: k}, true
		}
	case plan.Map:
		if k, typ, ok := scalar(t.Values.NonNull()); ok && plainElem(k) && !t.Values.Nullable() {
			return typedColumn{column: column{typ: "Map(String, " + typ + ")"}, kind: kMap, elem: k}, true
		}
	}
	return typedColumn{column: column{typ: "Nullable(String)"}, kind: kText}, true
}

// plainElem says whether arrays and maps of this kind get typed columns.
func plainElem(k kind) bool {
	switch k {
	case kBool, kInt, kFloat, kString, kEnum:
		return true
	}
	return false
}

// scalar maps a scalar Avro type to its kind and (non-Nullable) column type.
func scalar(t *plan.Type) (kind, string, bool) {
	switch t.Kind {
	case plan.Boolean:
		return kBool, "Bool", true
	case plan.Int, plan.Long:
		switch t.Logical {
		case plan.LogicalDate:
			return kDate, "Date32", true
		case plan.LogicalTimeMillis:
			return kTimeMilli, "Int64", true
		case plan.LogicalTimeMicros:
			return kTimeMicro, "Int64", true
		case plan.LogicalTimestampMillis, plan.LogicalLocalTimestampMillis:
			return kTSMilli, "DateTime64(3, 'UTC')", true
		case plan.LogicalTimestampMicros, plan.LogicalLocalTimestampMicros:
			return kTSMicro, "DateTime64(6, 'UTC')", true
		}
		// int and long share Int64 so that widening int → long (which
		// BACKWARD compatibility allows) never changes the column.
		return kInt, "Int64", true
	case plan.Float, plan.Double:
		return kFloat, "Float64", true
	case plan.String:
		if t.Logical == plan.LogicalUUID {
			return kUUID, "UUID", true
		}
		return kString, "String", true
	case plan.Bytes, plan.Fixed:
		if t.Logical == plan.LogicalDecimal && t.Precision >= 1 && t.Precision <= 76 {
			return kDecimal, fmt.Sprintf("Decimal(%d, %d)", t.Precision, t.Scale), true
		}
		return kString, "String", true
	case plan.Enum:
		return kEnum, "LowCardinality(String)", true
	}
	return 0, "", false
}

// nullable wraps a scalar column type in Nullable, inside LowCardinality.
func nullable(typ string) string {
	if inner, ok := strings.CutPrefix(typ, "LowCardinality("); ok {
		return "LowCardinality(Nullable(" + inner + ")"
	}
	return "Nullable(" + typ + ")"
}
