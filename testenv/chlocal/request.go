package chlocal

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// request is the parsed URL and headers of one query request.
type request struct {
	query         string            // the query URL parameter
	database      string            // database parameter or X-ClickHouse-Database; "" = default
	defaultFormat string            // default_format or X-ClickHouse-Format; "" = TabSeparated
	queryID       string            // query_id; generated when empty
	params        map[string]string // param_<name>: values for {name:Type} placeholders
	// settings are the ClickHouse settings the request applies to its query.
	settings map[string]string
	// readonly is the readonly setting: 0 any statement, 1 reading only, 2
	// reading and SET. HTTP GET implies 2, as in ClickHouse.
	readonly int
	// protocolVersion is client_protocol_version: the revision Native output
	// is written at (0: as the engine writes it).
	protocolVersion uint64
	compress        bool // compress=1: the response in ClickHouse's compressed-block framing
	decompress      bool // decompress=1: the body in ClickHouse's compressed-block framing
	httpCompression bool // enable_http_compression=1: compress as Accept-Encoding asks
}

// transportParams are URL parameters about the request or connection rather
// than the query, which ClickHouse does not treat as settings. Those without a
// field in request are accepted and ignored: this server has no users,
// sessions, quotas or response buffering (it always waits for the end of the
// query), and echoes query_id.
var transportParams = map[string]bool{
	"query": true, "database": true, "default_format": true, "query_id": true,
	"client_protocol_version": true, "compress": true, "decompress": true,
	"user": true, "password": true, "quota_key": true, "role": true,
	"session_id": true, "session_timeout": true, "session_check": true,
	"buffer_size": true, "wait_end_of_query": true, "stacktrace": true,
	"readonly": true,
}

// ignoredSettings are settings accepted and not applied, each for its reason.
var ignoredSettings = map[string]bool{
	// It makes every DROP wait for the data's removal, which chDB never
	// carries out: the engine would hang (see statement.withoutSync).
	"database_atomic_wait_for_drop_and_detach_synchronously": true,
}

// parseRequest reads a request's URL parameters and headers. Every parameter
// that is not a transport parameter, a param_<name> or a setting this server
// reads itself is a ClickHouse setting for the query; names that cannot be
// setting names fail with UNKNOWN_SETTING, like ClickHouse, and guarded
// settings (see access.go) with ACCESS_DENIED.
func parseRequest(r *http.Request) (*request, *chdb.Exception) {
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, exceptionf(codeBadArguments, "BAD_ARGUMENTS", "Cannot parse URL parameters: %v", err)
	}
	req := &request{
		query:         values.Get("query"),
		database:      firstOf(values.Get("database"), r.Header.Get("X-ClickHouse-Database")),
		defaultFormat: firstOf(values.Get("default_format"), r.Header.Get("X-ClickHouse-Format")),
		queryID:       values.Get("query_id"),
		params:        map[string]string{},
		settings:      map[string]string{},
		compress:      values.Get("compress") == "1",
		decompress:    values.Get("decompress") == "1",
	}
	if v := values.Get("client_protocol_version"); v != "" {
		if req.protocolVersion, err = strconv.ParseUint(v, 10, 64); err != nil {
			return nil, exceptionf(codeBadArguments, "BAD_ARGUMENTS", "client_protocol_version %q is not a number", v)
		}
	}
	if v := values.Get("readonly"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 2 {
			return nil, exceptionf(codeBadArguments, "BAD_ARGUMENTS", "readonly must be 0, 1 or 2, not %q", v)
		}
		req.readonly = n
	}
	if r.Method == http.MethodGet && req.readonly == 0 {
		req.readonly = 2
	}
	for name, vs := range values {
		value := vs[len(vs)-1]
		switch {
		case strings.HasPrefix(name, "param_"):
			req.params[strings.TrimPrefix(name, "param_")] = value
		case transportParams[name], ignoredSettings[name]:
		case guardedSettings[strings.ToLower(name)] != "":
			return nil, accessDenied("Setting %s is refused: %s", name, guardedSettings[strings.ToLower(name)])
		case !isSettingName(name):
			return nil, exceptionf(codeUnknownSetting, "UNKNOWN_SETTING", "Setting %s is neither a builtin setting nor started with the prefix 'custom_'", name)
		default:
			req.settings[name] = value
		}
	}
	req.httpCompression = isTrue(req.settings["enable_http_compression"])
	return req, nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func isTrue(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

// isSettingName reports whether s can be a ClickHouse setting name.
func isSettingName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
