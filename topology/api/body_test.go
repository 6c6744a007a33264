package api

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/topology/topics"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestGzipBodies(t *testing.T) {
	e := newEnv(t)
	batch := `{"batch":[` + strings.Repeat(`{"type":"track","userId":"u","event":"Gzipped","properties":{"pad":"`+strings.Repeat("z", 4000)+`"}},`, 99) +
		`{"type":"track","userId":"u","event":"Gzipped"}]}`
	if len(batch) < 300<<10 {
		t.Fatalf("test batch too small: %d", len(batch))
	}
	r := e.post("/v1/batch", webKey, gzipped(t, []byte(batch)), "Content-Encoding", "gzip")
	if r.status != 200 {
		t.Fatalf("gzip batch: %d %s", r.status, r.raw)
	}
	if got := e.records(e.names.Of(topics.Raw), 100); decodeValue(t, got[99])["event"] != "Gzipped" {
		t.Errorf("gzip batch not read back")
	}
	// Limits apply to the decompressed size: this body is small on the wire.
	over := `{"userId":"u","event":"e","properties":{"p":"` + strings.Repeat("y", 40<<10) + `"}}`
	if r := e.post("/v1/track", webKey, gzipped(t, []byte(over)), "Content-Encoding", "gzip"); r.status != 413 || r.body["code"] != "event_too_large" {
		t.Errorf("decompressed over the limit: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/track", webKey, []byte("\x1f\x8b\x08\x00garbage"), "Content-Encoding", "gzip"); r.status != 400 || r.body["code"] != codeInvalidGzip {
		t.Errorf("corrupt gzip: %d %s", r.status, r.raw)
	}
	good := gzipped(t, []byte(`{"userId":"u","event":"e"}`))
	if r := e.post("/v1/track", webKey, good[:len(good)-6], "Content-Encoding", "gzip"); r.status != 400 || r.body["code"] != codeInvalidGzip {
		t.Errorf("truncated gzip: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/track", webKey, []byte(`{"userId":"u","event":"e"}`), "Content-Encoding", "br"); r.status != 415 || r.body["code"] != codeEncoding {
		t.Errorf("brotli: %d %s", r.status, r.raw)
	}
}

// countingReader counts the bytes a handler pulls from a request body.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestGzipBombRefusedEarly sends 1 GiB of zeros gzipped (about 1 MiB on the
// wire) and checks the handler refuses it having read only a sliver: the
// bomb is not inflated past the limit.
func TestGzipBombRefusedEarly(t *testing.T) {
	e := newEnv(t)
	// 128 gzip members of 8 MiB of zeros each: one stream of 1 GiB to
	// a gzip reader, built without compressing a gigabyte.
	member := gzipped(t, make([]byte, 8<<20))
	var wire bytes.Buffer
	for range 128 {
		wire.Write(member)
	}
	for _, path := range []string{"/v1/batch", "/v1/track"} {
		body := &countingReader{r: bytes.NewReader(wire.Bytes())}
		req := httptest.NewRequest(http.MethodPost, path, body)
		req.Header.Set("Content-Encoding", "gzip")
		req.SetBasicAuth(webKey, "")
		rec := httptest.NewRecorder()
		e.server.Handler().ServeHTTP(rec, req)
		if rec.Code != 413 {
			t.Errorf("%s: gzip bomb answered %d: %s", path, rec.Code, rec.Body)
		}
		// 500 KiB of zeros compress to about 500 bytes; allow the
		// decompressor's read-ahead but nowhere near the 1 MiB bomb.
		if body.n > 64<<10 {
			t.Errorf("%s: read %d compressed bytes of %d before refusing", path, body.n, wire.Len())
		}
	}
}

func TestContentTypes(t *testing.T) {
	e := newEnv(t)
	body := []byte(`{"userId":"u","event":"e"}`)
	for ct, want := range map[string]int{
		"application/json":                  200,
		"application/json; charset=utf-8":   200,
		"text/plain;charset=UTF-8":          200,
		"application/vnd.segment+json":      200,
		"application/x-www-form-urlencoded": 415,
		"multipart/form-data; boundary=x":   415,
		"application/json; charset=latin1":  415,
		"nonsense/":                         415,
	} {
		r := e.post("/v1/track", webKey, body, "Content-Type", ct)
		if r.status != want {
			t.Errorf("Content-Type %q: %d, want %d: %s", ct, r.status, want, r.raw)
		}
		if want == 415 && r.body["code"] != codeMediaType {
			t.Errorf("Content-Type %q: code %v", ct, r.body["code"])
		}
	}
	if r := e.post("/v1/track", webKey, body, "Content-Type", ""); r.status != 200 {
		t.Errorf("no Content-Type: %d %s", r.status, r.raw)
	}
}

func TestBodyLimits(t *testing.T) {
	e := newEnv(t)
	// A batch body over 500 KiB is refused whatever its items.
	big := `{"batch":[` + strings.Repeat(`{"type":"track","userId":"u","event":"e","properties":{"p":"`+strings.Repeat("x", 20000)+`"}},`, 26) +
		`{"type":"track","userId":"u","event":"e"}]}`
	if r := e.post("/v1/batch", webKey, []byte(big)); r.status != 413 || r.body["code"] != "batch_too_large" {
		t.Errorf("big batch: %d %s", r.status, r.raw)
	}
	// Exactly at the single-event limit is fine.
	pad := 32<<10 - len(`{"userId":"u","event":"e","properties":{"p":""}}`)
	exact := `{"userId":"u","event":"e","properties":{"p":"` + strings.Repeat("x", pad) + `"}}`
	if r := e.post("/v1/track", webKey, []byte(exact)); r.status != 200 {
		t.Errorf("event of exactly 32 KiB: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/track", webKey, []byte(exact[:1]+" "+exact[1:])); r.status != 413 {
		t.Errorf("event of 32 KiB + 1: %d %s", r.status, r.raw)
	}
}
