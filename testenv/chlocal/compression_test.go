package chlocal

import (
	"net/http"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// encodings records the Content-Encoding of requests and responses.
type encodings struct {
	next http.RoundTripper
	mu   sync.Mutex
	req  map[string]int
	resp map[string]int
}

func (e *encodings) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.req[r.Header.Get("Content-Encoding")]++
	if err == nil {
		e.resp[resp.Header.Get("Content-Encoding")]++
	}
	return resp, err
}

// roundTripCompressed inserts and reads back rows through a connection set
// up by opt, and returns the encodings seen on the wire.
func roundTripCompressed(t *testing.T, opt func(*clickhouse.Options)) *encodings {
	srv, db := ForTest(t)
	seen := &encodings{req: map[string]int{}, resp: map[string]int{}}
	conn := connect(t, srv, db, opt, func(o *clickhouse.Options) {
		o.TransportFunc = func(tr *http.Transport) (http.RoundTripper, error) {
			seen.next = tr
			return seen, nil
		}
	})
	ctx := t.Context()
	if err := conn.Exec(ctx, "CREATE TABLE z (id UInt64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO z")
	if err != nil {
		t.Fatal(err)
	}
	const rows = 50_000
	for i := range rows {
		if err := batch.Append(uint64(i), "compressible compressible compressible"); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	if got := count(t, conn, "SELECT count() FROM z WHERE s LIKE 'compressible%'"); got != rows {
		t.Errorf("count %d, want %d", got, rows)
	}
	var sum uint64
	if err := conn.QueryRow(ctx, "SELECT sum(id) FROM z").Scan(&sum); err != nil || sum != rows*(rows-1)/2 {
		t.Errorf("sum %d, err %v", sum, err)
	}
	return seen
}

func TestClickHouseGoCompression(t *testing.T) {
	for _, tc := range []struct {
		method   clickhouse.CompressionMethod
		encoding string // the Content-Encoding both ways; "" for block framing
	}{
		{clickhouse.CompressionGZIP, "gzip"},
		{clickhouse.CompressionDeflate, "deflate"},
		{clickhouse.CompressionBrotli, "br"},
		// LZ4 and ZSTD over HTTP are ClickHouse's own compressed-block
		// framing (compress=1, decompress=1), not a Content-Encoding.
		{clickhouse.CompressionLZ4, ""},
		{clickhouse.CompressionZSTD, ""},
	} {
		t.Run(tc.method.String(), func(t *testing.T) {
			seen := roundTripCompressed(t, func(o *clickhouse.Options) {
				o.Compression = &clickhouse.Compression{Method: tc.method}
				o.Settings = clickhouse.Settings{"enable_http_compression": 1}
			})
			if tc.encoding != "" && (seen.req[tc.encoding] == 0 || seen.resp[tc.encoding] == 0) {
				t.Errorf("%s not used both ways: requests %v, responses %v", tc.encoding, seen.req, seen.resp)
			}
		})
	}
}
