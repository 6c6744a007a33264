package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks"
)

// SubjectColumns returns the columns of the tables holding subjects' rows,
// each name once, in the order Export reads the tables and then in column
// order: the header of a tabular export.
func (w *Warehouse) SubjectColumns(ctx context.Context) ([]string, error) {
	ts, err := w.subjectTables(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range ts {
		for _, c := range t.columns {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// Export calls fn with every row of the request's subjects (the rows Delete
// would delete), table by table in SubjectColumns' order, as a JSON object
// of the row's columns (ClickHouse's JSONEachRow: 64-bit integers quoted).
// An error of fn ends the export and is returned.
func (w *Warehouse) Export(ctx context.Context, req sinks.DeleteRequest, fn func(table string, row json.RawMessage) error) error {
	if err := req.Validate(); err != nil {
		return err
	}
	ts, err := w.subjectTables(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if err := w.exportTable(ctx, t, req, fn); err != nil {
			return err
		}
	}
	return nil
}

func (w *Warehouse) exportTable(ctx context.Context, t subjectTable, req sinks.DeleteRequest, fn func(string, json.RawMessage) error) error {
	where, _ := subjectPredicate(req, t.previousID)
	// Keys stored with their dots escaped (see insertSettings) are written
	// back with their dots.
	settings := bigQuery(where)
	settings["json_type_escape_dots_in_keys"] = 1
	rows, err := w.conn.Query(ch.Context(ctx, ch.WithSettings(settings)),
		"SELECT formatRowNoNewline('JSONEachRow', *) FROM "+w.ddl.qualified(t.read)+" WHERE "+where)
	if err != nil {
		return fmt.Errorf("clickhouse: exporting from %s: %w", t.read, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return fmt.Errorf("clickhouse: exporting from %s: %w", t.read, err)
		}
		if err := fn(t.read, json.RawMessage(s)); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: exporting from %s: %w", t.read, err)
	}
	return nil
}
