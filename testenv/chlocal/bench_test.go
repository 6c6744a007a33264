package chlocal

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkClickHouseGoBatchInsert measures the insert path end to end:
// clickhouse-go encodes a Native batch, the server spools it, the engine
// parses and writes a MergeTree part. Reported as rows/s.
func BenchmarkClickHouseGoBatchInsert(b *testing.B) {
	srv, db := ForTest(b)
	conn := connect(b, srv, db)
	ctx := b.Context()
	if err := conn.Exec(ctx, `CREATE TABLE bench (id UInt64, user_id String, event LowCardinality(String),
		ts DateTime64(3), props String) ENGINE = MergeTree ORDER BY (user_id, ts)`); err != nil {
		b.Fatal(err)
	}
	const rows = 100_000
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO bench")
		if err != nil {
			b.Fatal(err)
		}
		for i := range rows {
			if err := batch.Append(uint64(i), fmt.Sprintf("user-%d", i%1000), "Order Completed",
				base.Add(time.Duration(i)*time.Millisecond), `{"revenue":12.5,"currency":"EUR"}`); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if err := batch.Send(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
