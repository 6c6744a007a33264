// Package chlocal is a local ClickHouse for development and tests: the
// ClickHouse HTTP interface served in front of the ClickHouse engine running
// in this process (package chdb). Any ClickHouse HTTP client works with it:
// clickhouse-go with Protocol HTTP, @clickhouse/client, curl.
//
// It is not a production server: one engine per process on one storage path,
// up to Config.Connections statements at a time, whole results are held in
// memory before they are sent, and there are no users, passwords, quotas,
// sessions, TLS, native TCP protocol, external tables, progress headers or
// query cancellation. It is for clients on this machine: see "What clients
// may reach".
// docs/local-clickhouse.md says what works and how to point clients at it.
//
// # Requests
//
// As in ClickHouse, the SQL text of a request is the query URL parameter, a
// line break, and the request body. An INSERT whose data follows it inline
// (after FORMAT name, or VALUES) is split there: the data, however large, is
// streamed to a file under DataPath and the engine runs
// INSERT ... FROM INFILE '<file>' FORMAT name, so a body is never held in
// memory. Other text is limited to 16 MiB and must be one statement.
//
// URL parameters: param_<name> binds {name:Type} placeholders on the engine
// side; database and default_format (or the X-ClickHouse-Database and
// X-ClickHouse-Format headers) pick the database and the output format;
// client_protocol_version makes Native output carry what that protocol
// revision expects (block info and a serialization byte per column);
// compress and decompress select ClickHouse's compressed-block framing;
// readonly (implied by GET) refuses writes. query_id is echoed; user,
// password, quota_key, role, session_id, session_timeout, session_check,
// buffer_size, wait_end_of_query and stacktrace are accepted and ignored.
// Every other parameter is a ClickHouse setting applied to that request's
// statement only; an unknown name fails with UNKNOWN_SETTING, a guarded one
// (see below) with ACCESS_DENIED.
//
// # One engine, many requests
//
// The engine is reached through a few long-lived connections (lanes) whose
// SET and USE would persist. Each request therefore takes an idle lane, sets
// its database and settings, runs its statement, and leaves; the next request
// on that lane undoes what it does not share. Requests on different lanes run
// at once, as on a ClickHouse server. A client's own SET or USE statement lasts for that request
// only, as over ClickHouse HTTP without a session. Every statement starts
// with max_execution_time = Config.MaxExecutionTime (one minute by default),
// so a runaway query frees its lane; a client's own setting wins.
//
// # What clients may reach
//
// The server has no users or passwords, so it listens on loopback only
// unless Config.AllowNonLoopback. It refuses, with 403 and ACCESS_DENIED,
// what a web page the developer visits can make the browser send: requests
// with an Origin header, with a Sec-Fetch-Site other than "none", or with a
// Host that is not localhost or a loopback address (DNS rebinding). It never
// sends CORS headers; add_http_cors_header is refused.
//
// The engine runs every statement as chDB's built-in user, which may read any
// file and reach any URL, server or process, and cannot be narrowed (no
// REVOKE, no other users; readonly does not stop file()). So the engine first
// parses the client's statement (formatQuerySingleLine), which resolves
// comments, quoting, escapes and Unicode spaces, and the server refuses, with
// ACCESS_DENIED, statements that would reach outside the engine's own tables:
// table functions other than the local ones (numbers, values, view, merge,
// format, generateRandom, ...), so file, url, s3, remote, cluster, mysql, postgresql,
// executable and the rest, and the function file(); FROM INFILE and INTO
// OUTFILE; INSERT INTO FUNCTION; ENGINE = anything but the MergeTree family,
// Memory, Log, TinyLog, StripeLog, Null, Set, Join, Buffer, Merge,
// GenerateRandom, Atomic and Ordinary; disk(...); CREATE DICTIONARY; SYSTEM,
// ATTACH, BACKUP, RESTORE and SNAPSHOT; and settings that name files or
// change what the check reads (readonly, dialect, format_schema,
// format_template_row, ...; guardedSettings in access.go). The Values format
// evaluates expressions in an insert's data only when the engine can read
// that data as SQL and it passes the same check; other Values data must be
// literals. The server's own FROM INFILE, which reads spooled insert bodies,
// is added after the check.
//
// # Errors
//
// An exception answers with the HTTP status ClickHouse gives its code (400
// for syntax and parse errors, 404 for unknown tables, databases, settings,
// 500 otherwise...), the code in X-ClickHouse-Exception-Code and ClickHouse's
// message as the body.
package chlocal
