package chlocal

import (
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// A small insert compressed by clickhouse-go (LZ4, ZSTD) is stored once: the
// body is not read again after its end, where the decoder would replay its
// last block.
func TestSmallCompressedInsertStoredOnce(t *testing.T) {
	srv, db := ForTest(t)
	for _, method := range []clickhouse.CompressionMethod{clickhouse.CompressionLZ4, clickhouse.CompressionZSTD} {
		conn := connect(t, srv, db, func(o *clickhouse.Options) { o.Compression = &clickhouse.Compression{Method: method} })
		table := "small_" + method.String()
		if err := conn.Exec(t.Context(), "CREATE TABLE "+table+" (n UInt64) ENGINE = MergeTree ORDER BY n"); err != nil {
			t.Fatal(err)
		}
		batch, err := conn.PrepareBatch(t.Context(), "INSERT INTO "+table)
		if err != nil {
			t.Fatal(err)
		}
		for n := range uint64(2) {
			if err := batch.Append(n); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatal(err)
		}
		if got := count(t, conn, "SELECT count() FROM "+table); got != 2 {
			t.Fatalf("%s: %d rows after inserting 2", method, got)
		}
	}
}
