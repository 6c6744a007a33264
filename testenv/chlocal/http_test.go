package chlocal

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// post sends body to the server with the URL parameters params.
func post(t *testing.T, srv *Server, params url.Values, body string, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+"/?"+params.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func get(t *testing.T, srv *Server, path string, params url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+path+"?"+params.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// expectOK checks a 200 with the given body.
func expectOK(t *testing.T, resp *http.Response, want string) {
	t.Helper()
	if got := readBody(t, resp); resp.StatusCode != http.StatusOK || got != want {
		t.Errorf("got %d %q, want 200 %q", resp.StatusCode, got, want)
	}
}

// expectException checks an error response's status, code header and body.
func expectException(t *testing.T, resp *http.Response, status int, code string) {
	t.Helper()
	got := readBody(t, resp)
	if resp.StatusCode != status || resp.Header.Get("X-ClickHouse-Exception-Code") != code ||
		!strings.HasPrefix(got, "Code: "+code+". DB::Exception: ") {
		t.Errorf("got %d, code %q, body %q; want %d, code %s", resp.StatusCode,
			resp.Header.Get("X-ClickHouse-Exception-Code"), got, status, code)
	}
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestPingAndRoot(t *testing.T) {
	srv, _ := ForTest(t)
	expectOK(t, get(t, srv, "/ping", nil), "Ok.\n")
	expectOK(t, get(t, srv, "/", nil), "Ok.\n")
}

func TestQueryTextIsParameterThenBody(t *testing.T) {
	srv, db := ForTest(t)
	expectOK(t, post(t, srv, q("database", db, "query", "SELECT"), "1 + 1"), "2\n")
	expectOK(t, post(t, srv, q("database", db), "SELECT 'body'"), "body\n")
	resp := get(t, srv, "/", q("query", "SELECT 3 AS x", "default_format", "JSONEachRow"))
	expectOK(t, resp, "{\"x\":3}\n")
	if resp.Header.Get("X-ClickHouse-Format") != "JSONEachRow" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		t.Errorf("headers %v", resp.Header)
	}
	// A FORMAT clause wins over default_format and names the response format.
	resp = post(t, srv, q("default_format", "JSONEachRow"), "SELECT 4 AS y FORMAT CSVWithNames")
	expectOK(t, resp, "\"y\"\n4\n")
	if got := resp.Header.Get("X-ClickHouse-Format"); got != "CSVWithNames" {
		t.Errorf("X-ClickHouse-Format = %q", got)
	}
}

func TestResponseHeaders(t *testing.T) {
	srv, db := ForTest(t)
	resp := post(t, srv, q("database", db, "query_id", "my-query"), "SELECT 1")
	expectOK(t, resp, "1\n")
	for _, h := range []string{"X-ClickHouse-Server-Display-Name", "X-ClickHouse-Timezone", "X-ClickHouse-Summary"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if got := resp.Header.Get("X-ClickHouse-Query-Id"); got != "my-query" {
		t.Errorf("query id %q", got)
	}
	var summary map[string]string
	if err := json.Unmarshal([]byte(resp.Header.Get("X-ClickHouse-Summary")), &summary); err != nil || summary["read_rows"] == "" {
		t.Errorf("summary %q: %v", resp.Header.Get("X-ClickHouse-Summary"), err)
	}
	resp = post(t, srv, nil, "SELECT 1")
	if len(resp.Header.Get("X-ClickHouse-Query-Id")) != 36 {
		t.Errorf("generated query id %q", resp.Header.Get("X-ClickHouse-Query-Id"))
	}
}

func TestInsertForms(t *testing.T) {
	srv, db := ForTest(t)
	expectOK(t, post(t, srv, q("database", db), "CREATE TABLE ins (a UInt32, s String) ENGINE = MergeTree ORDER BY a"), "")
	// Data in the body after a query parameter.
	resp := post(t, srv, q("database", db, "query", "INSERT INTO ins FORMAT TabSeparated"), "1\tone\n2\ttwo\n")
	expectOK(t, resp, "")
	var summary map[string]string
	if err := json.Unmarshal([]byte(resp.Header.Get("X-ClickHouse-Summary")), &summary); err != nil || summary["written_rows"] != "2" {
		t.Errorf("insert summary %q", resp.Header.Get("X-ClickHouse-Summary"))
	}
	// VALUES split between parameter and body, with settings and a comment.
	expectOK(t, post(t, srv, q("database", db, "query", "INSERT INTO ins (a, s) -- c\nSETTINGS async_insert = 0 VALUES"), "(3, 'three'), (4, 'it''s')"), "")
	// The whole insert in the body, with the column list and a qualified name.
	expectOK(t, post(t, srv, q("database", db), "INSERT INTO "+db+".ins (s, a) FORMAT JSONEachRow\n{\"a\":5,\"s\":\"five\"}\n"), "")
	// INTO TABLE, and an expression in VALUES.
	expectOK(t, post(t, srv, q("database", db), "INSERT INTO TABLE ins (a, s) VALUES (6, concat('si', 'x'))"), "")
	// An INSERT ... SELECT carries no data.
	expectOK(t, post(t, srv, q("database", db), "INSERT INTO ins SELECT 7, 'seven'"), "")
	// Empty data inserts nothing.
	expectOK(t, post(t, srv, q("database", db, "query", "INSERT INTO ins FORMAT CSV"), ""), "")
	expectOK(t, post(t, srv, q("database", db), "SELECT a, s FROM ins ORDER BY a FORMAT CSV"),
		"1,\"one\"\n2,\"two\"\n3,\"three\"\n4,\"it's\"\n5,\"five\"\n6,\"six\"\n7,\"seven\"\n")
	// Bad data is the engine's parse error.
	resp = post(t, srv, q("database", db, "query", "INSERT INTO ins FORMAT TabSeparated"), "x\ty\n")
	if resp.StatusCode < 400 || resp.Header.Get("X-ClickHouse-Exception-Code") == "" {
		t.Errorf("bad insert data: %d %q", resp.StatusCode, readBody(t, resp))
	}
}

func TestExceptions(t *testing.T) {
	srv, db := ForTest(t)
	expectException(t, post(t, srv, q("database", db), "SELEC 1"), http.StatusBadRequest, "62")
	expectException(t, post(t, srv, q("database", db), "SELECT * FROM nope"), http.StatusNotFound, "60")
	expectException(t, post(t, srv, q("database", "no_such_db"), "SELECT 1"), http.StatusNotFound, "81")
	expectException(t, post(t, srv, q("database", db), "SELECT 1; SELECT 2"), http.StatusBadRequest, "62")
	expectException(t, post(t, srv, q("database", db), "  -- nothing\n"), http.StatusBadRequest, "62")
	expectException(t, post(t, srv, q("no_such_setting", "1"), "SELECT 1"), http.StatusNotFound, "115")
	expectException(t, post(t, srv, q("bad-name", "1"), "SELECT 1"), http.StatusNotFound, "115")
	expectException(t, post(t, srv, nil, "SELECT 1", "Content-Encoding", "snappy-ish"), http.StatusBadRequest, "36")
	expectException(t, post(t, srv, nil, "not gzip", "Content-Encoding", "gzip"), http.StatusInternalServerError, "271")
	// GET implies readonly; readonly=1 refuses writes on POST too.
	expectException(t, get(t, srv, "/", q("database", db, "query", "CREATE TABLE g (a UInt8) ENGINE = Memory")), http.StatusInternalServerError, "164")
	expectException(t, post(t, srv, q("database", db, "readonly", "1"), "CREATE TABLE g (a UInt8) ENGINE = Memory"), http.StatusInternalServerError, "164")
	expectException(t, post(t, srv, q("database", db, "readonly", "1", "query", "INSERT INTO g FORMAT CSV"), "1\n"), http.StatusInternalServerError, "164")
	expectOK(t, post(t, srv, q("database", db, "readonly", "1"), "SELECT 5"), "5\n")
	// A multipart request carries external tables, which are not supported.
	expectException(t, post(t, srv, nil, "x", "Content-Type", "multipart/form-data; boundary=b"), http.StatusNotImplemented, "48")
}

func TestSessionStateDoesNotLeak(t *testing.T) {
	srv, db := ForTest(t)
	setting := func(params url.Values) string {
		t.Helper()
		return readBody(t, post(t, srv, params, "SELECT getSetting('max_threads'), currentDatabase(), getSetting('date_time_output_format')"))
	}
	before := setting(nil)
	expectOK(t, post(t, srv, q("max_threads", "1", "database", db, "date_time_output_format", "iso"), "SELECT getSetting('max_threads'), currentDatabase(), getSetting('date_time_output_format')"),
		"1\t"+db+"\tiso\n")
	if after := setting(nil); after != before {
		t.Errorf("URL settings leaked: before %q, after %q", before, after)
	}
	// A SET or USE statement lasts for its own request only, as without a session.
	expectOK(t, post(t, srv, nil, "SET max_threads = 1"), "")
	expectOK(t, post(t, srv, q("database", db), "USE system"), "")
	if after := setting(nil); after != before {
		t.Errorf("SET/USE leaked: before %q, after %q", before, after)
	}
	// A failing SET does not leave part of itself behind.
	expectException(t, post(t, srv, q("max_threads", "2", "date_time_output_format", "no such format"), "SELECT 1"), http.StatusBadRequest, "36")
	if after := setting(nil); after != before {
		t.Errorf("failed settings leaked: before %q, after %q", before, after)
	}
}

func TestDropSyncDoesNotHang(t *testing.T) {
	srv, db := ForTest(t)
	expectOK(t, post(t, srv, q("database", db), "CREATE TABLE d (a UInt8) ENGINE = MergeTree ORDER BY a"), "")
	expectOK(t, post(t, srv, q("database", db), "INSERT INTO d VALUES (1)"), "")
	expectOK(t, post(t, srv, q("database", db), "DROP TABLE d SYNC"), "")
	expectOK(t, post(t, srv, q("database", db), "EXISTS TABLE d"), "0\n")
}

func TestGzipRequestAndResponse(t *testing.T) {
	srv, db := ForTest(t)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	io.WriteString(zw, "SELECT number FROM numbers(3) FORMAT CSV")
	zw.Close()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
		srv.URL()+"/?"+q("database", db, "enable_http_compression", "1").Encode(), &zipped)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Accept-Encoding", "gzip")
	// Set by hand, the transport leaves the response compressed.
	resp := do(t, req)
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("response not gzipped: %v", resp.Header)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if string(got) != "0\n1\n2\n" {
		t.Errorf("got %q", got)
	}
	// Without enable_http_compression the response is plain.
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL(), strings.NewReader("SELECT 1"))
	req.Header.Set("Accept-Encoding", "gzip")
	resp = do(t, req)
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("compressed without enable_http_compression")
	}
	expectOK(t, resp, "1\n")
}
