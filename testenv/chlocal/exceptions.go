package chlocal

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// Codes of the exceptions the server raises itself, with ClickHouse's numbers
// and names (system.error_codes) so clients classify them as they would the
// engine's.
const (
	codeBadArguments      = 36  // BAD_ARGUMENTS: a malformed request parameter
	codeNotImplemented    = 48  // NOT_IMPLEMENTED: a feature this server lacks
	codeSyntaxError       = 62  // SYNTAX_ERROR: multi-statements, query too large
	codeUnknownSetting    = 115 // UNKNOWN_SETTING: a parameter name no setting has
	codeReadonly          = 164 // READONLY: a write under readonly or HTTP GET
	codeNetworkError      = 210 // NETWORK_ERROR: the request body could not be read
	codeCannotDecompress  = 271 // CANNOT_DECOMPRESS: a bad compressed request body
	codeQueryWasCancelled = 394 // QUERY_WAS_CANCELLED: the client went away
	codeAccessDenied      = 497 // ACCESS_DENIED: a request or statement this server refuses
	codeUnknownException  = chdb.CodeUnknownException
)

// exceptionf makes an exception with ClickHouse's message layout.
func exceptionf(code int, name, format string, args ...any) *chdb.Exception {
	msg := fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, fmt.Sprintf(format, args...), name)
	return &chdb.Exception{Code: code, Message: msg}
}

// statusNames maps ClickHouse error names to the HTTP status ClickHouse
// answers them with (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp); all
// other exceptions are 500.
var statusNames = map[int][]string{
	http.StatusUnauthorized: {"REQUIRED_PASSWORD"},
	http.StatusForbidden:    {"UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"},
	http.StatusBadRequest: {"BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
		"CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
		"CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
		"CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
		"CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
		"UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
		"UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
		"VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"},
	http.StatusNotFound: {"UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
		"UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING",
		"UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE",
		"UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"},
	http.StatusRequestEntityTooLarge: {"QUERY_IS_TOO_LARGE"},
	http.StatusNotImplemented:        {"NOT_IMPLEMENTED"},
	http.StatusServiceUnavailable:    {"SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"},
	http.StatusLengthRequired:        {"HTTP_LENGTH_REQUIRED"},
	http.StatusRequestTimeout:        {"TIMEOUT_EXCEEDED"},
	http.StatusUnsupportedMediaType:  {"UNSUPPORTED_MEDIA_TYPE"},
}

// httpStatuses maps exception codes to HTTP statuses.
type httpStatuses map[int]int

// loadHTTPStatuses resolves statusNames to codes with the engine's own
// errorCodeToName, so the numbers are the engine's, never copied by hand.
// (chDB has no system.error_codes table.)
func loadHTTPStatuses(ctx context.Context, engine *chdb.Engine) (httpStatuses, error) {
	status := make(map[string]int)
	var names []string
	for st, ns := range statusNames {
		for _, n := range ns {
			status[n] = st
			names = append(names, chdb.QuoteString(n))
		}
	}
	res, err := engine.Query(ctx, "SELECT errorCodeToName(number) AS name, number FROM numbers(2000) WHERE name IN ("+strings.Join(names, ",")+")", "TabSeparated", nil)
	if err != nil {
		return nil, err
	}
	out := make(httpStatuses)
	for _, line := range strings.Split(strings.TrimSpace(string(res.Data)), "\n") {
		name, code, ok := strings.Cut(line, "\t")
		n, err := strconv.Atoi(code)
		if !ok || err != nil {
			return nil, fmt.Errorf("chlocal: unexpected error code row %q", line)
		}
		out[n] = status[name]
	}
	return out, nil
}

// status returns the HTTP status for an exception code.
func (s httpStatuses) status(code int) int {
	if st, ok := s[code]; ok {
		return st
	}
	return http.StatusInternalServerError
}
