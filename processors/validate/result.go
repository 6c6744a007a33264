package validate

import (
	"strconv"

	"github.com/sluicehq/sluice/schemas/plan"
)

// Outcome is the verdict on one event.
type Outcome uint8

// The outcomes. Violations may be reported with any of them.
const (
	// Pass: deliver the event with its properties unchanged.
	Pass Outcome = iota
	// Omitted: deliver the event with Result.Properties, from which the
	// fields listed in Result.Omitted were removed.
	Omitted
	// Blocked: do not deliver; send it to the violations topic when
	// Result.ToViolations is set, else drop it.
	Blocked
)

// String is "pass", "omitted" or "blocked".
func (o Outcome) String() string {
	switch o {
	case Pass:
		return "pass"
	case Omitted:
		return "omitted"
	case Blocked:
		return "blocked"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// Kind names a kind of violation, in Segment Protocols' spelling.
type Kind string

// The violation kinds.
const (
	// UnplannedEvent: a track event, or an event version, the plan lacks.
	UnplannedEvent Kind = "Unplanned-Event"
	// RequiredMissing: a field that is neither nullable nor defaulted is absent.
	RequiredMissing Kind = "Required-Missing"
	// DatatypeMismatch: the JSON value does not fit the Avro type (wrong JSON
	// type, number out of range, malformed timestamp or uuid, …).
	DatatypeMismatch Kind = "Datatype-Mismatch"
	// AdditionalProperties: a key no schema field names.
	AdditionalProperties Kind = "Additional-Properties"
	// EnumMismatch: a string that is not one of the enum's symbols.
	EnumMismatch Kind = "Enum-Mismatch"
	// UnknownPlan: the source names a plan the validator does not hold.
	UnknownPlan Kind = "Unknown-Plan"
)

// Violation is one place where an event departs from its schema. Path is
// rooted at "properties" or "traits" ("properties.products[0].price"), or
// names the event field at fault ("event", "context.protocols.event_version").
// Action is what the policy did about it.
type Violation struct {
	Path     string      `json:"path"`
	Kind     Kind        `json:"kind"`
	Expected string      `json:"expected,omitempty"`
	Actual   string      `json:"actual,omitempty"`
	Action   plan.Action `json:"action"`
}

// Value is one top-level field of a planned event, for typed warehouse
// columns. Result.Values holds one per schema field, in schema field order.
type Value struct {
	// Field is the schema field.
	Field *plan.Field
	// Type is the type the value matched (the chosen union branch), or nil
	// when the value is null or absent without a default.
	Type *plan.Type
	// Present is false when the event lacked the field (or it was omitted):
	// Raw then holds the field's default, or is nil.
	Present bool
	// Raw is the JSON text of the value (aliasing the event's bytes, or the
	// schema's default). Strings keep their quotes and escapes; records,
	// arrays and maps are their JSON text.
	Raw []byte
	// Int holds booleans (0, 1), int and long, the enum symbol index, and
	// date (days), time and timestamp values in their logical unit, also
	// when the event sent an ISO-8601 string.
	Int int64
	// Float holds float and double values (and int and long, converted).
	Float float64
}

// Result is the verdict on one event. Reuse one Result per goroutine: its
// slices are recycled by the next Validate call.
type Result struct {
	Outcome Outcome
	// Properties is the properties (or traits) object to deliver: the input
	// bytes themselves unless fields were omitted.
	Properties []byte
	// Violations lists every departure found, whatever the policy did.
	Violations []Violation
	// Omitted lists the paths removed from Properties, for
	// context.protocols.omitted.
	Omitted []string
	// ToViolations says whether a blocked event goes to the violations topic.
	ToViolations bool
	// Schema is the schema the event was checked against; nil when the event
	// is unplanned or no plan applies.
	Schema *plan.Schema
	// PlanVersion is the published version of the plan that judged the event.
	PlanVersion int
	// Values holds the typed top-level values when Schema is set and the
	// event is not blocked.
	Values []Value

	out  []byte
	dels []span
	path []seg
	tmp  []byte
}

func (r *Result) reset() {
	r.Outcome = Pass
	r.Properties = nil
	r.Violations = r.Violations[:0]
	r.Omitted = r.Omitted[:0]
	r.ToViolations = false
	r.Schema = nil
	r.PlanVersion = 0
	r.Values = r.Values[:0]
	r.dels = r.dels[:0]
	r.path = r.path[:0]
}

// span is a byte range [from, to) of the input to delete.
type span struct{ from, to int }
