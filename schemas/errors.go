package schemas

import (
	"strconv"
	"strings"
)

// Rule names the rule a piece of input broke. Rules are stable strings: the
// tracking API returns them as the "code" of its error bodies.
type Rule string

// Rules of the decoder, in the order a body is checked.
const (
	// RuleEventTooLarge: one event is over Limits.MaxEventBytes.
	RuleEventTooLarge Rule = "event_too_large"
	// RuleBatchTooLarge: a batch body is over Limits.MaxBatchBytes.
	RuleBatchTooLarge Rule = "batch_too_large"
	// RuleTooManyEvents: a batch holds more than Limits.MaxBatchEvents items.
	RuleTooManyEvents Rule = "too_many_events"
	// RuleInvalidJSON: the body is not one JSON object (or a batch item not an object).
	RuleInvalidJSON Rule = "invalid_json"
	// RuleInvalidUTF8: a string holds bytes that are not UTF-8, or a lone
	// surrogate escape.
	RuleInvalidUTF8 Rule = "invalid_utf8"
	// RuleTooDeep: objects and arrays nest deeper than Limits.MaxDepth.
	RuleTooDeep Rule = "too_deep"
	// RuleNumberRange: an integer outside int64, or a number that overflows float64.
	RuleNumberRange Rule = "number_out_of_range"
	// RuleDuplicateField: a known top-level field appears twice in one object.
	RuleDuplicateField Rule = "duplicate_field"
	// RuleFieldType: a known field has the wrong JSON type.
	RuleFieldType Rule = "invalid_field_type"
	// RuleInvalidType: a batch item without type, an unknown type, or a type
	// that contradicts the route.
	RuleInvalidType Rule = "invalid_type"
	// RuleMissingIdentity: neither userId nor anonymousId.
	RuleMissingIdentity Rule = "missing_identity"
	// RuleMissingField: a field the call type requires is absent or empty.
	RuleMissingField Rule = "missing_field"
	// RuleMessageIDTooLong: messageId longer than Limits.MaxMessageIDChars.
	RuleMessageIDTooLong Rule = "message_id_too_long"
	// RuleInvalidTimestamp: timestamp or sentAt is not an ISO-8601 date-time.
	RuleInvalidTimestamp Rule = "invalid_timestamp"
	// RuleEmptyBatch: a batch without items, or a body without "batch".
	RuleEmptyBatch Rule = "empty_batch"
)

// Error is a rule broken by decoded input. Index and Field locate it.
type Error struct {
	// Rule is the rule broken.
	Rule Rule
	// Index is the batch item at fault; -1 when the fault is not in an item.
	Index int
	// Field is the top-level field at fault ("event", "properties"), or empty.
	Field string
	// Offset is the byte offset in the body where the fault was seen, or -1.
	Offset int
	// Reason says what is wrong in words.
	Reason string
}

// Error reads like `batch[3].event: a track call needs "event" (missing_field)`.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Index >= 0 {
		b.WriteString("batch[")
		b.WriteString(strconv.Itoa(e.Index))
		b.WriteString("]")
	}
	if e.Field != "" {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.Field)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	if e.Offset >= 0 {
		b.WriteString(" at byte ")
		b.WriteString(strconv.Itoa(e.Offset))
	}
	b.WriteString(" (")
	b.WriteString(string(e.Rule))
	b.WriteString(")")
	return b.String()
}

// TooLarge reports whether the rule is a size or count limit, which the
// tracking API answers with 413 rather than 400.
func (r Rule) TooLarge() bool {
	switch r {
	case RuleEventTooLarge, RuleBatchTooLarge, RuleTooManyEvents:
		return true
	}
	return false
}

func errAt(rule Rule, off int, reason string) *Error {
	return &Error{Rule: rule, Index: -1, Offset: off, Reason: reason}
}
