package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
)

// sinkBaselineTables are the columns the baseline fills, per table, as the
// sink's DDL has them (loaded_at is the server's default).
var sinkBaselineTables = map[schemas.Type][]string{
	schemas.Track: {"message_id", "workspace", "source", "user_id", "anonymous_id", "event", "timestamp", "original_timestamp",
		"sent_at", "received_at", "context", "properties", "plan", "plan_version", "event_version", "kafka_topic", "kafka_partition", "kafka_offset"},
	schemas.Page: {"message_id", "workspace", "source", "user_id", "anonymous_id", "name", "category", "timestamp", "original_timestamp",
		"sent_at", "received_at", "context", "properties", "plan", "plan_version", "kafka_topic", "kafka_partition", "kafka_offset"},
	schemas.Identify: {"message_id", "workspace", "source", "user_id", "anonymous_id", "timestamp", "original_timestamp",
		"sent_at", "received_at", "context", "traits", "plan", "plan_version", "kafka_topic", "kafka_partition", "kafka_offset"},
}

var sinkBaselineUsers = []string{"workspace", "user_id", "anonymous_id", "traits", "source", "message_id", "timestamp", "received_at",
	"kafka_topic", "kafka_partition", "kafka_offset"}

var sinkTableNames = map[schemas.Type]string{schemas.Track: "tracks", schemas.Page: "pages", schemas.Identify: "identifies"}

// sinkBaselineInsert is one insert of the baseline.
type sinkBaselineInsert struct {
	table   string
	columns []string
	query   string
	values  []any
}

// sinkBaselineBatch builds the inserts of one batch: its rows split by
// table, each column one slice.
func sinkBaselineBatch(b *sinks.Batch, database string) ([]sinkBaselineInsert, error) {
	byType := map[schemas.Type][]int{}
	var users []int
	for i := range b.Events {
		byType[b.Events[i].Type] = append(byType[b.Events[i].Type], i)
		if b.Events[i].Type == schemas.Identify && b.Events[i].UserID != "" {
			users = append(users, i)
		}
	}
	var out []sinkBaselineInsert
	for _, typ := range []schemas.Type{schemas.Track, schemas.Page, schemas.Identify} {
		ins, err := sinkMakeInsert(database, sinkTableNames[typ], sinkBaselineTables[typ], b, byType[typ])
		if err != nil {
			return nil, err
		}
		out = append(out, ins)
	}
	ins, err := sinkMakeInsert(database, "users", sinkBaselineUsers, b, users)
	if err != nil {
		return nil, err
	}
	return append(out, ins), nil
}

func sinkMakeInsert(database, table string, cols []string, b *sinks.Batch, rows []int) (sinkBaselineInsert, error) {
	ins := sinkBaselineInsert{table: table, columns: cols, query: "INSERT INTO " + database + "." + table + " ("}
	for i, c := range cols {
		if i > 0 {
			ins.query += ", "
		}
		ins.query += c
		v, err := sinkColumn(c, b, rows)
		if err != nil {
			return ins, err
		}
		ins.values = append(ins.values, v)
	}
	ins.query += ")"
	return ins, nil
}

// sinkColumn builds one column's values for the chosen events of b.
func sinkColumn(name string, b *sinks.Batch, rows []int) (any, error) {
	strs := func(f func(e *schemas.Event) string) []string {
		out := make([]string, len(rows))
		for n, i := range rows {
			out[n] = f(&b.Events[i])
		}
		return out
	}
	times := func(f func(e *schemas.Event) *time.Time) []*time.Time {
		out := make([]*time.Time, len(rows))
		for n, i := range rows {
			out[n] = f(&b.Events[i])
		}
		return out
	}
	switch name {
	case "message_id":
		return strs(func(e *schemas.Event) string { return e.MessageID }), nil
	case "workspace":
		return strs(func(e *schemas.Event) string { return e.Workspace }), nil
	case "source":
		return strs(func(e *schemas.Event) string { return e.Source }), nil
	case "user_id":
		return strs(func(e *schemas.Event) string { return e.UserID }), nil
	case "anonymous_id":
		return strs(func(e *schemas.Event) string { return e.AnonymousID }), nil
	case "event":
		return strs(func(e *schemas.Event) string { return e.Event }), nil
	case "name":
		return strs(func(e *schemas.Event) string { return e.Name }), nil
	case "category":
		return strs(func(e *schemas.Event) string { return e.Category }), nil
	case "context":
		return strs(func(e *schemas.Event) string { return alias(e.Context) }), nil
	case "properties":
		return strs(func(e *schemas.Event) string { return alias(e.Properties) }), nil
	case "traits":
		return strs(func(e *schemas.Event) string { return alias(e.Traits) }), nil
	case "plan":
		return strs(func(*schemas.Event) string { return "" }), nil
	case "kafka_topic":
		return strs(func(*schemas.Event) string { return b.Topic }), nil
	case "timestamp", "received_at":
		out := make([]time.Time, len(rows))
		for n, i := range rows {
			if name == "timestamp" {
				out[n] = b.Events[i].Timestamp
			} else {
				out[n] = b.Events[i].ReceivedAt
			}
		}
		return out, nil
	case "original_timestamp":
		return times(func(e *schemas.Event) *time.Time { return &e.OriginalTimestamp }), nil
	case "sent_at":
		return times(func(e *schemas.Event) *time.Time { return &e.SentAt }), nil
	case "plan_version", "event_version":
		return make([]uint32, len(rows)), nil
	case "kafka_partition":
		out := make([]int32, len(rows))
		for n := range out {
			out[n] = b.Partition
		}
		return out, nil
	case "kafka_offset":
		out := make([]int64, len(rows))
		for n, i := range rows {
			out[n] = b.Offsets[i]
		}
		return out, nil
	}
	return nil, fmt.Errorf("bench: no baseline values for column %s", name)
}

// sinkBaselineRun inserts every partition's batches, the partitions at
// once, building each batch's columns just before sending it: the least any
// clickhouse-go program inserting these rows does. Like the sink, it hands
// clickhouse-go the column types, saving a DESCRIBE per insert.
func sinkBaselineRun(ctx context.Context, conn driver.Conn, database string, batches [][]sinks.Batch, json bool) error {
	types := map[string]map[string]string{}
	rows, err := conn.Query(ctx, "SELECT table, name, type FROM system.columns WHERE database = ?", database)
	if err != nil {
		return err
	}
	for rows.Next() {
		var t, n, typ string
		if err := rows.Scan(&t, &n, &typ); err != nil {
			return err
		}
		if types[t] == nil {
			types[t] = map[string]string{}
		}
		types[t][n] = typ
	}
	rows.Close()
	settings := ch.Settings{"async_insert": 0}
	if json {
		settings["input_format_try_infer_dates"] = 0
		settings["input_format_try_infer_datetimes"] = 0
		settings["type_json_skip_duplicated_paths"] = 1
	}
	qctx := ch.Context(ctx, ch.WithSettings(settings))
	var wg sync.WaitGroup
	errs := make([]error, len(batches))
	for p := range batches {
		wg.Go(func() {
			for i := range batches[p] {
				inserts, err := sinkBaselineBatch(&batches[p][i], database)
				if err != nil {
					errs[p] = err
					return
				}
				for _, ins := range inserts {
					if sinkLen(ins.values[0]) == 0 {
						continue
					}
					cols := make([]ch.ColumnNameAndType, len(ins.columns))
					for i, c := range ins.columns {
						cols[i] = ch.ColumnNameAndType{Name: c, Type: types[ins.table][c]}
					}
					batch, err := conn.PrepareBatch(ch.Context(qctx, ch.WithColumnNamesAndTypes(cols)), ins.query)
					if err != nil {
						errs[p] = err
						return
					}
					for i, v := range ins.values {
						if err := batch.Column(i).Append(v); err != nil {
							errs[p] = fmt.Errorf("%s column %d: %w", ins.query, i, err)
							return
						}
					}
					if err := batch.Send(); err != nil {
						errs[p] = err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// alias returns the bytes as a string without copying; the events outlive
// the insert.
func alias(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func sinkLen(v any) int {
	switch s := v.(type) {
	case []string:
		return len(s)
	case []int64:
		return len(s)
	}
	return -1
}
