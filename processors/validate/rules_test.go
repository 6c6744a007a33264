package validate

import (
	"testing"
)

// TestTypeRules checks one JSON value against one Avro type per row.
func TestTypeRules(t *testing.T) {
	const ts = `{"type":"long","logicalType":"timestamp-millis"}`
	rec := `{"type":"record","name":"R","fields":[{"name":"a","type":"int"},{"name":"b","type":["null","string"],"default":null}]}`
	tests := []struct {
		typ, value string
		want       Kind // "" fits
		wantInt    int64
	}{
		{`"null"`, `null`, "", 0},
		{`"null"`, `0`, DatatypeMismatch, 0},
		{`"boolean"`, `true`, "", 1},
		{`"boolean"`, `false`, "", 0},
		{`"boolean"`, `"true"`, DatatypeMismatch, 0},
		{`"int"`, `42`, "", 42},
		{`"int"`, `-2147483648`, "", -2147483648},
		{`"int"`, `2147483648`, DatatypeMismatch, 0},
		{`"int"`, `1.0`, "", 1},
		{`"int"`, `1e3`, "", 1000},
		{`"int"`, `1.5`, DatatypeMismatch, 0},
		{`"int"`, `"42"`, DatatypeMismatch, 0},
		{`"long"`, `9223372036854775807`, "", 9223372036854775807},
		{`"long"`, `-9223372036854775808`, "", -9223372036854775808},
		{`"long"`, `9223372036854775808`, DatatypeMismatch, 0},
		{`"long"`, `null`, DatatypeMismatch, 0},
		{`"float"`, `3.5`, "", 0},
		{`"float"`, `1e39`, DatatypeMismatch, 0},
		{`"double"`, `1e39`, "", 0},
		{`"double"`, `1e400`, DatatypeMismatch, 0},
		{`"double"`, `-0.25`, "", 0},
		{`"double"`, `"1.5"`, DatatypeMismatch, 0},
		{`"string"`, `"héllo \u00e9\n"`, "", 0},
		{`"string"`, `12`, DatatypeMismatch, 0},
		{`"bytes"`, `"\u00ff\u0000"`, "", 0},
		{`{"type":"fixed","name":"F","size":4}`, `"abcd"`, "", 0},
		{`{"type":"fixed","name":"F","size":4}`, `"abc"`, DatatypeMismatch, 0},
		{`{"type":"enum","name":"C","symbols":["USD","EUR"]}`, `"EUR"`, "", 1},
		{`{"type":"enum","name":"C","symbols":["USD","EUR"]}`, `"usd"`, EnumMismatch, 0},
		{`{"type":"enum","name":"C","symbols":["USD","EUR"]}`, `1`, DatatypeMismatch, 0},
		{`{"type":"array","items":"int"}`, `[1,2,3]`, "", 0},
		{`{"type":"array","items":"int"}`, `[]`, "", 0},
		{`{"type":"array","items":"int"}`, `[1,"2"]`, DatatypeMismatch, 0},
		{`{"type":"array","items":"int"}`, `{"0":1}`, DatatypeMismatch, 0},
		{`{"type":"map","values":"double"}`, `{"a":1,"b":2.5}`, "", 0},
		{`{"type":"map","values":"double"}`, `{"a":"x"}`, DatatypeMismatch, 0},
		{`{"type":"map","values":"double"}`, `[1]`, DatatypeMismatch, 0},
		{rec, `{"a":1}`, "", 0},
		{rec, `{"a":1,"b":"x"}`, "", 0},
		{rec, `{"b":"x"}`, RequiredMissing, 0},
		{rec, `{"a":1,"c":2}`, AdditionalProperties, 0},
		{rec, `{"a":"1"}`, DatatypeMismatch, 0},
		{rec, `"a"`, DatatypeMismatch, 0},
		{`["null","string"]`, `null`, "", 0},
		{`["null","string"]`, `"x"`, "", 0},
		{`["null","string"]`, `1`, DatatypeMismatch, 0},
		{`["int","string"]`, `"x"`, "", 0},
		{`["int","double"]`, `1.5`, "", 0},
		{`["int","double"]`, `7`, "", 7},
		{`["null",` + rec + `,{"type":"map","values":"string"}]`, `{"x":"y"}`, "", 0},
		{ts, `1714564800123`, "", 1714564800123},
		{ts, `"2024-05-01T12:00:00.123Z"`, "", 1714564800123},
		{ts, `"2024-05-01T14:00:00.123+02:00"`, "", 1714564800123},
		{ts, `"2024-05-01 12:00:00.123"`, "", 1714564800123},
		{ts, `"2024-05-01"`, "", 1714521600000},
		{ts, `"1969-12-31T23:59:59Z"`, "", -1000},
		{ts, `"2024-02-30T00:00:00Z"`, DatatypeMismatch, 0},
		{ts, `"yesterday"`, DatatypeMismatch, 0},
		{ts, `true`, DatatypeMismatch, 0},
		{`{"type":"long","logicalType":"timestamp-micros"}`, `"2024-05-01T12:00:00.123456Z"`, "", 1714564800123456},
		{`{"type":"int","logicalType":"date"}`, `"1970-01-02"`, "", 1},
		{`{"type":"int","logicalType":"date"}`, `19000`, "", 19000},
		{`{"type":"int","logicalType":"time-millis"}`, `"01:00:00.5"`, "", 3600500},
		{`{"type":"string","logicalType":"uuid"}`, `"123e4567-e89b-12d3-a456-426614174000"`, "", 0},
		{`{"type":"string","logicalType":"uuid"}`, `"123e4567"`, DatatypeMismatch, 0},
		{`{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}`, `123.45`, "", 0},
		{`{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}`, `"-0.5"`, "", 0},
		{`{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}`, `1234.5`, DatatypeMismatch, 0},
		{`{"type":"bytes","logicalType":"decimal","precision":5,"scale":2}`, `1.234`, DatatypeMismatch, 0},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"="+tt.value, func(t *testing.T) {
			v := newValidator(t, fieldPlan(t, tt.typ, ""))
			var r Result
			if err := v.Validate(track("t", "E", `{"v":`+tt.value+`}`), &r); err != nil {
				t.Fatal(err)
			}
			got := Kind("")
			if len(r.Violations) > 0 {
				got = r.Violations[0].Kind
			}
			if got != tt.want {
				t.Fatalf("violations %s, want %q", kinds(r.Violations), tt.want)
			}
			if tt.want == "" && tt.wantInt != 0 && r.Values[0].Int != tt.wantInt {
				t.Fatalf("Int = %d, want %d", r.Values[0].Int, tt.wantInt)
			}
			if r.Outcome != Pass {
				t.Fatalf("outcome %v under allow", r.Outcome)
			}
		})
	}
}

// TestMissingAndNull: absent and null properties are an empty object.
func TestMissingAndNull(t *testing.T) {
	v := newValidator(t, fieldPlan(t, `"int"`, ""))
	for _, props := range []string{"", "null", " {} "} {
		var r Result
		if err := v.Validate(track("t", "E", props), &r); err != nil {
			t.Fatal(err)
		}
		if kinds(r.Violations) != "Required-Missing@properties.v" {
			t.Fatalf("%q: %s", props, kinds(r.Violations))
		}
	}
}

// TestMalformed: bad JSON is an error, never a panic or a verdict.
func TestMalformed(t *testing.T) {
	v := newValidator(t, fieldPlan(t, `{"type":"map","values":"string"}`, ""))
	for _, props := range []string{`{`, `{"v":}`, `{"v":{"a":"b"}`, `{"v":{"a":"b"}}x`, `{"v":"\x"}`, `{"v":{"a":01}}`, `{"v":{"a":tru}}`, `{"v" 1}`, `[1,]`, "{\"v\":{\"a\":\"\x01\"}}"} {
		var r Result
		if err := v.Validate(track("t", "E", props), &r); err == nil {
			t.Fatalf("%q: no error; violations %s", props, kinds(r.Violations))
		}
	}
}

// TestPaths: violation paths name nested fields, indexes and odd keys.
func TestPaths(t *testing.T) {
	v := newValidator(t, webPlan(t))
	var r Result
	props := `{"order_id":"o","total":1,"subtotal":1,"revenue":1,"currency":"USD","item_count":1,"completed_at":1,"products":[{"product_id":"p","sku":"s","name":"n","price":1},{"product_id":"p","sku":"s","price":"12","odd.key":1}]}`
	if err := v.Validate(track("web", "Order Completed", props), &r); err != nil {
		t.Fatal(err)
	}
	want := `Datatype-Mismatch@properties.products[1].price Additional-Properties@properties.products[1]["odd.key"] Required-Missing@properties.products[1].name`
	if got := kinds(r.Violations); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	if a := r.Violations[0].Actual; a != `string "12"` || r.Violations[0].Expected != "double" {
		t.Fatalf("expected/actual %q/%q", r.Violations[0].Expected, a)
	}
}
