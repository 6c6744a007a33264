package chlocal

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/testenv/chdb"
)

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		text         string
		kind, format string
		multi        bool
	}{
		{text: "SELECT 1", kind: "SELECT"},
		{text: "  -- c\n /* x */ select 1 format JSON", kind: "SELECT", format: "JSON"},
		{text: "SELECT 1 FORMAT `JSONEachRow` SETTINGS max_threads = 1", kind: "SELECT", format: "JSONEachRow"},
		{text: "SELECT format FROM t", kind: "SELECT"},
		{text: "SELECT 'FORMAT JSON'", kind: "SELECT"},
		{text: "SELECT (SELECT 1 FORMAT JSON)", kind: "SELECT"},
		{text: "(SELECT 1) UNION ALL (SELECT 2) FORMAT CSV;", kind: "(", format: "CSV"},
		{text: "SELECT 1;", kind: "SELECT"},
		{text: "SELECT 1; ;", kind: "SELECT"},
		{text: "SELECT 1; SELECT 2", kind: "SELECT", multi: true},
		{text: "SELECT ';' -- ; x\n", kind: "SELECT"},
		{text: "SELECT $$a;b$$, $t$ ; $t$", kind: "SELECT"},
		{text: "with 1 as x select x", kind: "WITH"},
		{text: "", kind: ""},
		{text: "/* only a comment */", kind: ""},
		{text: "SELECT 'unterminated", kind: "SELECT"},
	} {
		st := describe(tc.text)
		if st.kind != tc.kind || st.format != tc.format || st.multi != tc.multi {
			t.Errorf("describe(%q) = kind %q format %q multi %v; want %q %q %v",
				tc.text, st.kind, st.format, st.multi, tc.kind, tc.format, tc.multi)
		}
	}
}

func TestWithoutSync(t *testing.T) {
	for text, want := range map[string]string{
		"DROP TABLE t SYNC":             "DROP TABLE t ",
		"drop database d sync;":         "drop database d ;",
		"DETACH TABLE t SYNC":           "DETACH TABLE t ",
		"DROP TABLE sync":               "DROP TABLE ", // a table named sync: harmless, the engine errors
		"SELECT sync FROM t":            "SELECT sync FROM t",
		"DROP TABLE t":                  "DROP TABLE t",
		"TRUNCATE TABLE t SYNC":         "TRUNCATE TABLE t ",
		"DROP TABLE `SYNC`":             "DROP TABLE `SYNC`",
		"DROP TABLE t /* SYNC */ -- x ": "DROP TABLE t /* SYNC */ -- x ",
	} {
		if got := describe(text).withoutSync(text); got != want {
			t.Errorf("withoutSync(%q) = %q, want %q", text, got, want)
		}
	}
}

func TestSplitInsert(t *testing.T) {
	for _, tc := range []struct {
		text       string
		query      string // split.query("/f") when the insert has inline data
		data       string // text from dataStart
		incomplete bool   // text is only the start of the request
		outcome    splitOutcome
	}{
		{text: "INSERT INTO t FORMAT CSV\n1,2\n", query: "INSERT INTO t FROM INFILE '/f' FORMAT CSV", data: "1,2\n"},
		{text: "INSERT INTO t FORMAT CSV  \r\n\n1", query: "INSERT INTO t FROM INFILE '/f' FORMAT CSV", data: "\n1"},
		{text: "INSERT INTO t FORMAT CSV 1,2", query: "INSERT INTO t FROM INFILE '/f' FORMAT CSV", data: "1,2"},
		{text: "insert into db.`t` (a, b) format Native\n\x00\x01", query: "insert into db.`t` (a, b) FROM INFILE '/f' format Native", data: "\x00\x01"},
		{text: "INSERT INTO TABLE format (format) FORMAT TSV\nx", query: "INSERT INTO TABLE format (format) FROM INFILE '/f' FORMAT TSV", data: "x"},
		{text: "INSERT INTO t VALUES (1), (2)", query: "INSERT INTO t FROM INFILE '/f' FORMAT Values", data: "(1), (2)"},
		{text: "INSERT INTO t VALUES\n", query: "INSERT INTO t FROM INFILE '/f' FORMAT Values", data: ""},
		{text: "INSERT INTO t -- cmt\n SETTINGS a = 1, b = 'x' -- c2\n VALUES (1)", query: "INSERT INTO t FROM INFILE '/f' SETTINGS a = 1, b = 'x' FORMAT Values", data: "(1)"},
		{text: "INSERT INTO t (a) SETTINGS x=1 FORMAT JSONEachRow {\"a\":1}", query: "INSERT INTO t (a) FROM INFILE '/f' SETTINGS x=1 FORMAT JSONEachRow", data: "{\"a\":1}"},
		{text: "INSERT INTO FUNCTION file('a.csv', 'CSV', 'x UInt8') VALUES (1)", query: "INSERT INTO FUNCTION file('a.csv', 'CSV', 'x UInt8') FROM INFILE '/f' FORMAT Values", data: "(1)"},
		{text: "INSERT INTO {t:Identifier} FORMAT CSV\n1", query: "INSERT INTO {t:Identifier} FROM INFILE '/f' FORMAT CSV", data: "1"},
		{text: "INSERT INTO t SELECT 1", outcome: notInlineInsert},
		{text: "INSERT INTO t (a) WITH 1 AS x SELECT x", outcome: notInlineInsert},
		{text: "INSERT INTO t FROM INFILE 'x' FORMAT CSV", outcome: notInlineInsert},
		{text: "SELECT 1", outcome: notInlineInsert},
		{text: "INSERT INTO t", outcome: notInlineInsert},
		{text: "INSERT INTO 't", outcome: notInlineInsert},
		// Only the start of a request: a clause cut off needs more text.
		{text: "INSERT INTO t FORM", incomplete: true, outcome: needMoreText},
		{text: "INSERT INTO t FORMAT CS", incomplete: true, outcome: needMoreText},
		{text: "INSERT INTO t (a, ", incomplete: true, outcome: needMoreText},
		{text: "INS", incomplete: true, outcome: needMoreText},
		{text: "SELECT 1, ", incomplete: true, outcome: notInlineInsert},
		{text: "INSERT INTO t FORMAT CSV\n1,", incomplete: true, query: "INSERT INTO t FROM INFILE '/f' FORMAT CSV", data: "1,"},
	} {
		if tc.query != "" {
			tc.outcome = inlineInsert
		}
		split, outcome := splitInsert(tc.text, !tc.incomplete)
		if outcome != tc.outcome {
			t.Errorf("splitInsert(%q): outcome %d, want %d", tc.text, outcome, tc.outcome)
			continue
		}
		if outcome != inlineInsert {
			continue
		}
		if got := split.query("/f"); got != tc.query {
			t.Errorf("splitInsert(%q): query %q, want %q", tc.text, got, tc.query)
		}
		if got := tc.text[split.dataStart:]; got != tc.data {
			t.Errorf("splitInsert(%q): data %q, want %q", tc.text, got, tc.data)
		}
	}
}

func TestQuoting(t *testing.T) {
	if got := chdb.QuoteString(`it's a \ path`); got != `'it\'s a \\ path'` {
		t.Errorf("quoteString: %s", got)
	}
	if got := quoteIdentifier("a`b\\c"); got != "`a\\`b\\\\c`" {
		t.Errorf("quoteIdentifier: %s", got)
	}
	if got := unescapeTSV(`a\tb\\n\n`); got != "a\tb\\n\n" {
		t.Errorf("unescapeTSV: %q", got)
	}
	if !strings.HasPrefix(sanitize("TestX/sub case#01"), "testx_sub_case_01") {
		t.Errorf("sanitize: %q", sanitize("TestX/sub case#01"))
	}
}

func TestInsertDirRemovesThoseOfExitedProcesses(t *testing.T) {
	data := t.TempDir()
	stale := filepath.Join(data, insertDirName, "99999999") // above Linux's pid_max
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "insert-1.bin"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, err := makeInsertDir(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale directory kept: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || filepath.Base(dir) != strconv.Itoa(os.Getpid()) {
		t.Errorf("own directory %s: %v", dir, err)
	}
}
