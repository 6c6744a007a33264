// Package validate is the validation stage: it checks each event's
// properties (or traits) against the Avro schema its tracking plan gives
// it, and applies the plan's policy.
//
// The stage takes raw JSON bytes, not a decoded event: each schema is
// compiled into a tree of nodes that walks the bytes once, without building
// values, so goavro stays out of the hot path.
//
// # Rules
//
// A record takes a JSON object: each key names a field (else it is an
// Additional-Properties violation) and each field that is neither nullable
// nor defaulted must be present (Required-Missing). null takes null; boolean
// true or false; int and long an integral number in their range (1.0 and 1e3
// count as integral); float a number within ±3.4e38, double any finite
// number; string and bytes a string; fixed a string of that many
// characters; enum one of its symbols (Enum-Mismatch); array a JSON array;
// map an object, each value of the map's type. A union takes a value any
// branch takes: [null, T] is how optional fields are written. Logical types:
// timestamp-millis/micros (and local-) take an integer in their unit or an
// ISO-8601 date-time string ("2024-05-01T12:00:00.123Z", offsets, "T" or a
// space, no zone meaning UTC, a bare date meaning midnight); date takes days
// or "YYYY-MM-DD"; time-millis/micros take an integer or "HH:MM:SS[.fff]";
// uuid the 8-4-4-4-12 form; decimal a number or numeric string within its
// precision and scale. Every other mismatch is Datatype-Mismatch.
//
// # Policy
//
// unplannedProperties decides Additional-Properties and typeViolations the
// other kinds: allow keeps the value (violation reported), omit removes the
// member or array element from the output bytes (a missing field cannot be
// omitted: the event then passes), block blocks the event. All violations are
// collected even after a block. A blocked event goes to the violations topic
// when blockedToViolations is set.
//
// # Typed values
//
// For a planned event that is not blocked, Result.Values holds one Value per
// top-level schema field in schema order: the JSON text (aliasing the input),
// the matched type, and for scalars the decoded number (timestamps in their
// logical unit, enums as the symbol index). The ClickHouse sink maps each
// field's Avro type to a column and reads Int, Float or Raw accordingly.
package validate
