package chdb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func open(t *testing.T, settings ...string) *Engine {
	t.Helper()
	e, err := Open(t.TempDir(), settings...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func query(t *testing.T, e *Engine, sql, format string, params map[string]string) string {
	t.Helper()
	res, err := e.Query(t.Context(), sql, format, params)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return string(res.Data)
}

func TestQueryFormats(t *testing.T) {
	e := open(t)
	if got := query(t, e, "SELECT 1 AS a, 'x' AS b", "", nil); got != "1\tx\n" {
		t.Errorf("default format: got %q", got)
	}
	if got := query(t, e, "SELECT 1 AS a", "JSONEachRow", nil); got != "{\"a\":1}\n" {
		t.Errorf("JSONEachRow: got %q", got)
	}
	if got := query(t, e, "SELECT 1 AS a FORMAT CSVWithNames", "JSONEachRow", nil); got != "\"a\"\n1\n" {
		t.Errorf("FORMAT clause should win: got %q", got)
	}
}

func TestExceptionCodes(t *testing.T) {
	e := open(t)
	for sql, code := range map[string]int{
		"SELEC 1":                  62, // SYNTAX_ERROR
		"SELECT * FROM no_such_t":  60, // UNKNOWN_TABLE
		"SELECT no_such_fn(1)":     46, // UNKNOWN_FUNCTION
		"SELECT 1 FORMAT NoFormat": 73, // UNKNOWN_FORMAT
	} {
		_, err := e.Query(t.Context(), sql, "", nil)
		var ex *Exception
		if !errors.As(err, &ex) {
			t.Errorf("%s: want *Exception, got %v", sql, err)
			continue
		}
		if ex.Code != code || !strings.HasPrefix(ex.Message, fmt.Sprintf("Code: %d. DB::Exception:", code)) {
			t.Errorf("%s: got code %d, message %q; want code %d", sql, ex.Code, ex.Message, code)
		}
	}
}

func TestParseException(t *testing.T) {
	for text, code := range map[string]int{
		"Code: 62. DB::Exception: Syntax error":  62,
		"Code: 60. DB::Exception: x\n":           60,
		"std::exception. Code: 1001, type: oops": CodeUnknownException,
		"Code: x. nothing":                       CodeUnknownException,
		"":                                       CodeUnknownException,
	} {
		ex := parseException(text)
		if ex.Code != code || ex.Message != strings.TrimRight(text, "\n") {
			t.Errorf("%q: got %+v, want code %d", text, ex, code)
		}
	}
}

func TestParamsAreBoundNotInterpolated(t *testing.T) {
	e := open(t)
	params := map[string]string{
		"s": `it's; DROP TABLE x -- \\ end`, // escaped-text form: \\ is one backslash
		"n": "42",
		"e": "",
	}
	got := query(t, e, "SELECT {s:String}, {n:UInt64} + 1, length({e:String})", "TabSeparated", params)
	want := "it\\'s; DROP TABLE x -- \\\\ end\t43\t0\n" // TSV output escapes ' and \ again
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	_, err := e.Query(t.Context(), "SELECT {n:UInt8}", "", map[string]string{"n": "not a number"})
	var ex *Exception
	if !errors.As(err, &ex) {
		t.Fatalf("bad parameter: want *Exception, got %v", err)
	}
}

func TestInsertCountsWrites(t *testing.T) {
	e := open(t)
	query(t, e, "CREATE TABLE t (a UInt64) ENGINE = MergeTree ORDER BY a", "", nil)
	res, err := e.Query(t.Context(), "INSERT INTO t SELECT number FROM numbers(1000)", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsWritten != 1000 {
		t.Errorf("RowsWritten = %d, want 1000", res.RowsWritten)
	}
	if got := query(t, e, "SELECT count(), sum(a) FROM t", "", nil); got != "1000\t499500\n" {
		t.Errorf("got %q", got)
	}
}

func TestConcurrentQueries(t *testing.T) {
	e := open(t)
	query(t, e, "CREATE TABLE c (g UInt32, i UInt32) ENGINE = MergeTree ORDER BY (g, i)", "", nil)
	const goroutines, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				sql := fmt.Sprintf("INSERT INTO c VALUES (%d, %d)", g, i)
				if _, err := e.Query(t.Context(), sql, "", nil); err != nil {
					errs <- err
					return
				}
				res, err := e.Query(t.Context(), "SELECT count() FROM c WHERE g = {g:UInt32}", "CSV",
					map[string]string{"g": fmt.Sprint(g)})
				if err != nil {
					errs <- err
					return
				}
				if got, want := string(res.Data), fmt.Sprintf("%d\n", i+1); got != want {
					errs <- fmt.Errorf("goroutine %d: count %q, want %q", g, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := query(t, e, "SELECT count() FROM c", "", nil); got != fmt.Sprintf("%d\n", goroutines*each) {
		t.Errorf("total %q", got)
	}
}

func TestWaitingHonoursContext(t *testing.T) {
	e := open(t)
	e.turn <- struct{}{} // someone else's statement is running
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := e.Query(ctx, "SELECT 1", "", nil)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	<-e.turn
	query(t, e, "SELECT 1", "", nil)
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	e, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	query(t, e, "CREATE TABLE k (a String) ENGINE = MergeTree ORDER BY a", "", nil)
	query(t, e, "INSERT INTO k VALUES ('kept')", "", nil)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Query(t.Context(), "SELECT 1", "", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("query after close: got %v, want ErrClosed", err)
	}
	e, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if got := query(t, e, "SELECT a FROM k", "", nil); got != "kept\n" {
		t.Errorf("after reopen: got %q", got)
	}
}

func TestOnePathPerProcess(t *testing.T) {
	a := open(t)
	if b, err := Open(t.TempDir()); err == nil {
		b.Close()
		t.Fatal("a second storage path opened while the first is in use")
	}
	same, err := Open(a.Path())
	if err != nil {
		t.Fatalf("second connection to the same path: %v", err)
	}
	query(t, same, "CREATE TABLE shared (a UInt8) ENGINE = Memory", "", nil)
	query(t, a, "INSERT INTO shared VALUES (7)", "", nil)
	if got := query(t, same, "SELECT a FROM shared", "", nil); got != "7\n" {
		t.Errorf("got %q", got)
	}
	same.Close()
	a.Close()
	other := open(t)
	query(t, other, "SELECT 1", "", nil)
}

func TestSettings(t *testing.T) {
	e := open(t, "max_threads=3", "date_time_output_format=iso")
	if got := query(t, e, "SELECT getSetting('max_threads'), toDateTime('2024-01-02 03:04:05', 'UTC')", "", nil); got != "3\t2024-01-02T03:04:05Z\n" {
		t.Errorf("got %q", got)
	}
	if _, err := Open(t.TempDir(), "max_threads"); err == nil {
		t.Error("a setting without a value was accepted")
	}
	var ex *Exception
	if _, err := Open(e.Path(), "no_such_setting=1"); !errors.As(err, &ex) || ex.Code != 115 {
		t.Errorf("unknown setting: got %v, want UNKNOWN_SETTING (115)", err)
	}
	if _, err := Open(e.Path(), "max_threads=lots"); !errors.As(err, &ex) {
		t.Errorf("bad value: got %v, want an *Exception", err)
	}
}

func TestQuoteString(t *testing.T) {
	e := open(t)
	for _, s := range []string{"", "plain", "it's", `back\slash`, "new\nline", "tab\t", "\x00 nul"} {
		if got := query(t, e, "SELECT "+QuoteString(s)+" FORMAT RawBLOB", "", nil); got != s {
			t.Errorf("QuoteString(%q) read back as %q", s, got)
		}
	}
}

// The engine replaces the Go runtime's SIGSEGV handler when it boots; Open must
// put it back, or this nil dereference would kill the test binary.
func TestNilDereferenceStillPanics(t *testing.T) {
	open(t)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	var p *int
	_ = *p
}

func TestMissingLibraryNamesTheFix(t *testing.T) {
	t.Setenv(LibraryEnv, t.TempDir()+"/nope/libchdb.so")
	_, err := LibraryPath()
	if err == nil || !strings.Contains(err.Error(), "make deps") {
		t.Errorf("got %v, want an error telling to run make deps", err)
	}
}
