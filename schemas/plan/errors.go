package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is one problem found in a plan: the file, the place inside it (a
// field path such as "products[].price" or a manifest key such as
// `events."Order Completed".versions.2`) and what is wrong.
type Error struct {
	File string `json:"file"`
	Path string `json:"path,omitempty"`
	Msg  string `json:"message"`
}

// Error formats the problem as "file: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found while checking a plan, in file order.
type Errors []*Error

// Error lists the problems, one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// AsErrors returns the problems an error from Check carries, or nil when err
// is not such an error.
func AsErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return nil
}

// collector accumulates problems while loading.
type collector struct{ errs Errors }

func (c *collector) add(file, path, format string, args ...any) {
	c.errs = append(c.errs, &Error{File: file, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// jsonError describes a JSON syntax or type error with its line and column.
func jsonError(src []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return "invalid JSON: " + err.Error()
	}
	line, col := 1, 1
	for i := 0; i < int(off) && i < len(src); i++ {
		if src[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return "invalid JSON at line " + strconv.Itoa(line) + ", column " + strconv.Itoa(col) + ": " + err.Error()
}

// quote renders a name for messages and paths.
func quote(s string) string { return strconv.Quote(s) }
