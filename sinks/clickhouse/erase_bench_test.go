package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/testenv/chlocal"
)

// BenchmarkErase10MRows measures what each way of erasing users costs on
// the local engine, against a tracks table (sluice's DDL) of 10 million
// rows: 100,000 users, 100 events each over 90 days (three monthly
// partitions, merged to one part each, as a table settles), with context
// and properties JSON. Each way runs on its own copy of the table, for
// 5,000 users and for one:
//
//   - lightweight-delete: DELETE only. Rows are masked: apply_deleted_mask = 0
//     still returns them and their bytes stay until a merge.
//   - delete+apply-mask: DELETE, then ALTER TABLE … APPLY DELETED MASK IN
//     PARTITION for the partitions that held them (what Warehouse.Delete does).
//   - alter-delete: ALTER TABLE … DELETE, a mutation rewriting the parts.
//   - delete+optimize-final: DELETE, then OPTIMIZE TABLE … FINAL.
//   - warehouse-delete: Warehouse.Delete, with its counts and id sets.
//
// Row policies cannot be measured: the local engine refuses CREATE ROW
// POLICY (ACCESS_DENIED), and a policy would leave the bytes on disk.
//
//	go test -run '^$' -bench Erase10MRows -benchtime 1x -timeout 60m ./sinks/clickhouse/
func BenchmarkErase10MRows(b *testing.B) {
	const users, perUser = 100_000, 100
	srv, base := chlocal.ForTest(b)
	conn := rawConn(b, srv.Addr())
	ctx := b.Context()
	exec := func(q string) {
		b.Helper()
		if err := conn.Exec(ch.Context(ctx, ch.WithSettings(ch.Settings{"max_execution_time": 3600})), q); err != nil {
			b.Fatalf("%.120s: %v", q, err)
		}
	}
	cfg := Config{Database: base}.WithDefaults()
	exec(newDDL(cfg).createTable(coreTable(tableTracks)))
	start := time.Now()
	exec(fmt.Sprintf(`INSERT INTO %s.tracks (message_id, workspace, source, user_id, anonymous_id, event, timestamp, received_at,
			context, properties, kafka_topic, kafka_partition, kafka_offset)
		SELECT toString(generateUUIDv4()), 'acme', 'web', 'u' || toString(number %% %d), 'a' || toString(number %% %d),
			['Product Viewed', 'Product Added', 'Order Completed'][1 + number %% 3],
			toDateTime64('2026-09-01 00:00:00', 3, 'UTC') + toIntervalSecond(number %% (90 * 86400)),
			toDateTime64('2026-09-01 00:00:00', 3, 'UTC') + toIntervalSecond(number %% (90 * 86400)),
			'{"ip":"10.0.0.1","userAgent":"Mozilla/5.0","page":{"path":"/p/' || toString(number %% 500) || '"}}',
			'{"total":' || toString(number %% 1000) || ',"currency":"USD","email":"u' || toString(number %% %d) || '@mail.example"}',
			'sluice.dest.warehouse', 0, number
		FROM numbers(%d)`, quoteIdent(base), users, users, users, users*perUser))
	inserted := time.Since(start)
	start = time.Now()
	exec("OPTIMIZE TABLE " + quoteIdent(base) + ".tracks FINAL")
	var parts, bytes uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(bytes_on_disk) FROM system.parts WHERE database = ? AND table = 'tracks' AND active", base).Scan(&parts, &bytes); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d rows inserted in %s, merged in %s: %d parts, %d MiB", users*perUser, inserted.Round(time.Millisecond),
		time.Since(start).Round(time.Millisecond), parts, bytes>>20)
	partitions := listStrings(b, conn, "SELECT DISTINCT partition_id FROM system.parts WHERE database = ? AND table = 'tracks' AND active", base)

	ways := []struct {
		name  string
		erase func(db string) []string // the statements after the Set table of ids is filled
	}{
		{"lightweight-delete", func(db string) []string {
			return []string{"DELETE FROM " + quoteIdent(db) + ".tracks WHERE " + benchPredicate(db)}
		}},
		{"delete+apply-mask", func(db string) []string {
			var cmds []string
			for _, p := range partitions {
				cmds = append(cmds, "APPLY DELETED MASK IN PARTITION ID "+quoteString(p))
			}
			return []string{"DELETE FROM " + quoteIdent(db) + ".tracks WHERE " + benchPredicate(db),
				"ALTER TABLE " + quoteIdent(db) + ".tracks " + strings.Join(cmds, ", ")}
		}},
		{"alter-delete", func(db string) []string {
			return []string{"ALTER TABLE " + quoteIdent(db) + ".tracks DELETE WHERE " + benchPredicate(db)}
		}},
		{"delete+optimize-final", func(db string) []string {
			return []string{"DELETE FROM " + quoteIdent(db) + ".tracks WHERE " + benchPredicate(db),
				"OPTIMIZE TABLE " + quoteIdent(db) + ".tracks FINAL"}
		}},
		{"warehouse-delete", nil},
	}
	copies := 0
	for _, n := range []int{5000, 1} {
		for _, way := range ways {
			b.Run(fmt.Sprintf("%s/%d-users", way.name, n), func(b *testing.B) {
				for i := range b.N {
					b.StopTimer()
					db := fmt.Sprintf("%s_%d_%d", base, copies, i)
					copies++
					exec("CREATE DATABASE " + quoteIdent(db))
					exec("CREATE TABLE " + quoteIdent(db) + ".tracks AS " + quoteIdent(base) + ".tracks")
					for _, p := range partitions {
						exec("ALTER TABLE " + quoteIdent(db) + ".tracks ATTACH PARTITION ID " + quoteString(p) + " FROM " + quoteIdent(base) + ".tracks")
					}
					ids := make([]string, n)
					for j := range ids {
						ids[j] = fmt.Sprintf("u%d", (j*users/n+i)%users)
					}
					// The ids as Warehouse.Delete passes them (it makes its own).
					exec("CREATE TABLE " + quoteIdent(db) + ".ids (id String) ENGINE = Set SETTINGS persistent = 0")
					exec("INSERT INTO " + quoteIdent(db) + ".ids SELECT arrayJoin(['" + strings.Join(ids, "','") + "'])")
					b.StartTimer()
					t0 := time.Now()
					if way.erase == nil {
						benchWarehouseDelete(b, srv.Addr(), db, ids)
					} else {
						for _, q := range way.erase(db) {
							exec(q)
						}
					}
					took := time.Since(t0)
					b.StopTimer()
					var left, held uint64
					if err := conn.QueryRow(ch.Context(ctx, ch.WithSettings(ch.Settings{"apply_deleted_mask": 0})),
						"SELECT countIf(user_id IN "+quoteIdent(db)+".ids), count() FROM "+quoteIdent(db)+".tracks").Scan(&left, &held); err != nil {
						b.Fatal(err)
					}
					b.Logf("%s of %d users: %s; after it, with apply_deleted_mask = 0: %d of their rows, %d rows in all", way.name, n,
						took.Round(time.Millisecond), left, held)
					b.ReportMetric(took.Seconds(), "s/erase")
					exec("DROP DATABASE " + quoteIdent(db))
					b.StartTimer()
				}
			})
		}
	}
}

// benchPredicate matches the ids in the copy's Set table, as Warehouse.Delete does.
func benchPredicate(db string) string {
	set := quoteIdent(db) + ".ids"
	return "workspace = 'acme' AND (user_id IN " + set + " OR anonymous_id IN " + set + ")"
}

func benchWarehouseDelete(b *testing.B, addr, db string, ids []string) {
	b.Helper()
	wh, err := OpenWarehouse(Config{Addrs: []string{addr}, Database: db, QueryTimeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer wh.Close()
	if _, err := wh.Delete(b.Context(), sinks.DeleteRequest{Workspace: "acme", UserIDs: ids}); err != nil {
		b.Fatal(err)
	}
}

func listStrings(b *testing.B, conn driver.Conn, q string, args ...any) []string {
	b.Helper()
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			b.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}
