package chlocal

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"testing"
)

// rowSource generates TabSeparated rows "id\tpayload\n" for ids 0..rows-1
// on the fly, so a body of any size never sits in memory.
type rowSource struct {
	rows, next int
	payload    string
	buf        []byte
	bytes      int64
}

func (s *rowSource) Read(p []byte) (int, error) {
	for len(s.buf) < len(p) && s.next < s.rows {
		s.buf = strconv.AppendInt(s.buf, int64(s.next), 10)
		s.buf = append(s.buf, '\t')
		s.buf = append(s.buf, s.payload...)
		s.buf = append(s.buf, '\n')
		s.next++
	}
	if len(s.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.bytes += int64(n)
	return n, nil
}

// An insert body of hundreds of MB streams to the engine: the engine's own
// limit on inline data (about 256 KiB) does not apply, and the server holds
// only a small part of it in memory at a time.
func TestInsertBodyOver300MB(t *testing.T) {
	srv, db := ForTest(t)
	expectOK(t, post(t, srv, q("database", db), "CREATE TABLE big (id UInt64, payload String) ENGINE = MergeTree ORDER BY id"), "")
	const rows = 2_800_000
	src := &rowSource{rows: rows, payload: "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost,
		srv.URL()+"/?"+q("database", db, "query", "INSERT INTO big FORMAT TabSeparated").Encode(), io.NopCloser(src))
	if err != nil {
		t.Fatal(err)
	}
	resp := do(t, req) // no length: the body goes chunked, as a streaming client sends it
	expectOK(t, resp, "")
	runtime.ReadMemStats(&after)

	if src.bytes < 300<<20 {
		t.Fatalf("sent only %d bytes", src.bytes)
	}
	want := fmt.Sprintf("%d\t%d\n", rows, rows*(rows-1)/2)
	expectOK(t, post(t, srv, q("database", db), "SELECT count(), sum(id) FROM big"), want)
	// Allocation over the whole request, client side included, stays far
	// below the body's size: nothing buffered it whole.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > uint64(src.bytes)/4 {
		t.Errorf("allocated %d MB for a %d MB body", alloc>>20, src.bytes>>20)
	}
	t.Logf("sent %d MB", src.bytes>>20)
}
