package chdb

import (
	"strconv"
	"strings"
)

// CodeUnknownException is the code ClickHouse gives an exception that carries
// none (UNKNOWN_EXCEPTION); an engine error whose text has no code gets it.
const CodeUnknownException = 1002

// Exception is an error the engine reported for a statement: ClickHouse's
// numeric error code and its full message ("Code: 60. DB::Exception: ...").
type Exception struct {
	Code    int
	Message string
}

// Error returns the message as ClickHouse wrote it.
func (e *Exception) Error() string { return e.Message }

// parseException turns chDB's error text into an Exception. The code is the
// number after the leading "Code: "; text without one gets CodeUnknownException.
func parseException(text string) *Exception {
	text = strings.TrimRight(text, "\n")
	ex := &Exception{Code: CodeUnknownException, Message: text}
	rest, ok := strings.CutPrefix(text, "Code: ")
	if !ok {
		return ex
	}
	digits, _, ok := strings.Cut(rest, ".")
	if !ok {
		return ex
	}
	code, err := strconv.Atoi(digits)
	if err != nil || code <= 0 {
		return ex
	}
	ex.Code = code
	return ex
}
