package chlocal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluicehq/sluice/testenv/chdb"
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

// BenchmarkJSONColumnIngest measures what JSON columns cost the engine per
// insert of 50,000 event rows (context with typed paths, properties
// dynamic, as in the warehouse), Native format, by how their values arrive:
// "text" as JSON text the engine parses (what clickhouse-go sends), "native"
// in the engine's own JSON serialization (parsed by the client). One op is
// one insert.
func BenchmarkJSONColumnIngest(b *testing.B) {
	srv, db := ForTest(b)
	engine := srv.lanes[0].engine
	ctx := b.Context()
	exec := func(b *testing.B, sql string) *chdb.Result {
		b.Helper()
		res, err := engine.Query(ctx, sql, "Native", nil)
		if err != nil {
			b.Fatal(err)
		}
		return res
	}
	const rows = 50_000
	table := func(b *testing.B, name string) {
		exec(b, "CREATE TABLE IF NOT EXISTS "+db+"."+name+" (message_id String, user_id String, event LowCardinality(String), "+
			"ts DateTime64(3, 'UTC'), context JSON(`library.name` String, `library.version` String, `ip` String, "+
			"`locale` String, `userAgent` String, `page.path` String, `page.referrer` String, `page.url` String), "+
			"properties JSON) ENGINE = MergeTree ORDER BY (event, toDate(ts), user_id)")
	}
	table(b, "src")
	exec(b, `INSERT INTO `+db+`.src SELECT 'm-' || toString(number), 'user-' || toString(number % 5000), 'Order Completed',
		toDateTime64('2026-11-22 10:00:00', 3, 'UTC') + number,
		format('{{"library":{{"name":"analytics.js","version":"4.1.{}"}},"page":{{"path":"/p/{}","referrer":"https://www.google.com/","url":"https://shop.example/p/{}"}},"ip":"203.0.113.{}","locale":"en-US","userAgent":"Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0"}}',
			toString(number % 7), toString(number % 500), toString(number % 500), toString(number % 250)),
		format('{{"order_id":"o-{}","total":{}.95,"currency":"EUR","products":[{{"sku":"sku-{}","qty":1,"price":19.99}},{{"sku":"sku-9","qty":2,"price":5}}]}}',
			toString(number), toString(number % 500), toString(number % 50))
		FROM numbers(`+fmt.Sprint(rows)+`) SETTINGS input_format_try_infer_dates = 0`)
	for _, mode := range []struct {
		name     string
		asString int
	}{{"text", 1}, {"native", 0}} {
		b.Run(mode.name, func(b *testing.B) {
			body := exec(b, fmt.Sprintf("SELECT * FROM %s.src SETTINGS output_format_native_write_json_as_string = %d", db, mode.asString)).Data
			path := filepath.Join(b.TempDir(), "rows.native")
			if err := os.WriteFile(path, body, 0o644); err != nil {
				b.Fatal(err)
			}
			table(b, "dst_"+mode.name)
			insert := fmt.Sprintf("INSERT INTO %s.dst_%s FROM INFILE '%s' SETTINGS input_format_try_infer_dates = 0 FORMAT Native", db, mode.name, path)
			for b.Loop() {
				exec(b, insert)
			}
			b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
