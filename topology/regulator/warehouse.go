package regulator

import (
	"context"
	"encoding/json"

	"github.com/sluicehq/sluice/sinks"
)

// Warehouse is sluice's own ClickHouse database as the regulator uses it:
// the one place that finds the tables holding subjects' rows, and deletes,
// counts and exports those rows (*clickhouse.Warehouse, opened from the
// clickhouse destination's settings). The regulator runs no SQL itself.
type Warehouse interface {
	// Delete deletes every row of the request's subjects from every table
	// and returns rows before and after per table; rows left are an error.
	// Idempotent, as every sinks.Deleter.
	sinks.Deleter
	// CountSubjects counts the rows of several requests' subjects, all of
	// one workspace, in one pass: rows[i][j] is request i's rows in
	// tables[j] (a row of several requests counts for each). tables names
	// every table holding subjects' rows, as Delete's receipts do.
	CountSubjects(ctx context.Context, reqs []sinks.DeleteRequest) (tables []string, rows [][]uint64, err error)
	// SubjectColumns returns the column names of those tables, each once,
	// in Export's order: the header of a CSV export.
	SubjectColumns(ctx context.Context) ([]string, error)
	// Export calls fn with each row of the request's subjects, table by
	// table, as a JSON object of its columns; fn's error ends it.
	Export(ctx context.Context, req sinks.DeleteRequest, fn func(table string, row json.RawMessage) error) error
}
