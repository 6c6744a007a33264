package regulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Body is the body of POST /v1/regulations.
type Body struct {
	RegulationType Type        `json:"regulationType"`
	SubjectType    SubjectType `json:"subjectType"`
	SubjectIDs     []string    `json:"subjectIds"`
}

// FieldError is a refused request body: the field at fault, as a JSON path
// such as "subjectIds[3]" ("" for the body as a whole), and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// DecodeBody parses and checks a POST /v1/regulations body. It refuses
// anything but a JSON object with exactly the fields regulationType (one of
// Types), subjectType (USER_ID or ANONYMOUS_ID) and subjectIds (1 to
// MaxSubjectIDs strings, each non-empty, at most MaxSubjectIDBytes bytes,
// without control characters), naming the first field at fault in a
// *FieldError. Repeated ids are kept once, in their first place.
func DecodeBody(data []byte) (Body, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return Body{}, jsonErr("", "the body", err)
	}
	if fields == nil {
		return Body{}, fieldErr("", "the body must be a JSON object, not null")
	}
	for name := range fields {
		switch name {
		case "regulationType", "subjectType", "subjectIds":
		default:
			return Body{}, fieldErr(name, "unknown field; the body holds regulationType, subjectType and subjectIds")
		}
	}
	var b Body
	typ, err := stringField(fields, "regulationType")
	if err != nil {
		return Body{}, err
	}
	if b.RegulationType = Type(typ); !b.RegulationType.Valid() {
		return Body{}, fieldErr("regulationType", "%q is not a regulation type; want one of %s", typ, joinTypes())
	}
	sub, err := stringField(fields, "subjectType")
	if err != nil {
		return Body{}, err
	}
	if b.SubjectType = SubjectType(sub); !b.SubjectType.Valid() {
		return Body{}, fieldErr("subjectType", "%q is not a subject type; want USER_ID or ANONYMOUS_ID", sub)
	}
	if b.SubjectIDs, err = subjectIDs(fields["subjectIds"]); err != nil {
		return Body{}, err
	}
	return b, nil
}

// stringField reads a required string field.
func stringField(fields map[string]json.RawMessage, name string) (string, error) {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return "", fieldErr(name, "required")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fieldErr(name, "want a string, got %s", kind(raw))
	}
	return s, nil
}

func subjectIDs(raw json.RawMessage) ([]string, error) {
	const name = "subjectIds"
	if raw == nil || isNull(raw) {
		return nil, fieldErr(name, "required: an array of 1 to %d ids", MaxSubjectIDs)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fieldErr(name, "want an array of strings, got %s", kind(raw))
	}
	switch {
	case len(items) == 0:
		return nil, fieldErr(name, "empty: give 1 to %d ids", MaxSubjectIDs)
	case len(items) > MaxSubjectIDs:
		return nil, fieldErr(name, "%d ids: at most %d per request; split the list", len(items), MaxSubjectIDs)
	}
	ids := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		field := name + "[" + strconv.Itoa(i) + "]"
		var id string
		if isNull(item) {
			return nil, fieldErr(field, "want a string, got null")
		}
		if err := json.Unmarshal(item, &id); err != nil {
			return nil, fieldErr(field, "want a string, got %s", kind(item))
		}
		if err := checkID(id); err != nil {
			return nil, fieldErr(field, "%s", err)
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// checkID says what is wrong with a subject id, if anything.
func checkID(id string) error {
	switch {
	case strings.TrimSpace(id) == "":
		return errors.New("empty id")
	case len(id) > MaxSubjectIDBytes:
		return fmt.Errorf("%d bytes: at most %d", len(id), MaxSubjectIDBytes)
	case !utf8.ValidString(id):
		return errors.New("not valid UTF-8")
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("holds control character %U", r)
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// kind names the JSON kind of a value for error messages.
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// jsonErr turns a JSON decoding error into a FieldError with its offset.
func jsonErr(field, what string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fieldErr(field, "%s is not valid JSON: %v (at byte %d)", what, se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fieldErr(field, "%s must be a JSON object, not %s", what, te.Value)
	}
	return fieldErr(field, "%s is not valid JSON: %v", what, err)
}

func joinTypes() string {
	s := make([]string, len(Types))
	for i, t := range Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}
