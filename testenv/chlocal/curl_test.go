package chlocal

import (
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// curl runs the curl command line and returns what it printed.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Fatalf("curl is not installed (apt-get install curl): %v", err)
	}
	out, err := exec.CommandContext(t.Context(), path, append([]string{"-sS"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v", args, err)
	}
	return string(out)
}

// TestCurl is the quick start of docs/local-clickhouse.md, as a person types it.
func TestCurl(t *testing.T) {
	srv, db := ForTest(t)
	if got := curl(t, srv.URL()+"/ping"); got != "Ok.\n" {
		t.Errorf("ping: %q", got)
	}
	curl(t, srv.URL()+"/?database="+db, "--data-binary", "CREATE TABLE c (n UInt8, s String) ENGINE = MergeTree ORDER BY n")
	curl(t, srv.URL()+"/?database="+db+"&query="+url.QueryEscape("INSERT INTO c FORMAT CSV"), "--data-binary", "1,one\n2,two\n")
	got := curl(t, srv.URL()+"/?database="+db+"&default_format=JSONEachRow&query="+url.QueryEscape("SELECT n, s FROM c ORDER BY n"))
	if got != "{\"n\":1,\"s\":\"one\"}\n{\"n\":2,\"s\":\"two\"}\n" {
		t.Errorf("select: %q", got)
	}
	// -D - prints the response headers before the body.
	got = curl(t, "-D", "-", srv.URL()+"/?database="+db, "--data-binary", "SELECT * FROM missing")
	head, body, _ := strings.Cut(got, "\r\n\r\n")
	if !strings.HasPrefix(head, "HTTP/1.1 404") || !strings.Contains(head, "X-ClickHouse-Exception-Code: 60\r\n") ||
		!strings.HasPrefix(body, "Code: 60. DB::Exception:") {
		t.Errorf("error response:\n%s", got)
	}
}
