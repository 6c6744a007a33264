package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/sinks"
)

// Warehouse is sluice's ClickHouse database as the deletion side sees it: it
// finds the tables holding data subjects' rows, deletes the subjects from
// them (a sinks.Deleter), counts their rows and exports them. The Sink
// deletes through one; the regulator opens its own from the same Config
// (OpenWarehouse). Safe for concurrent use.
//
// A table holds subjects' rows when it is a MergeTree-family table of the
// database with workspace, user_id and anonymous_id columns: every sluice
// table, and any table added with them. A row is a subject's when its
// workspace is the request's and its user_id or anonymous_id (or, in a
// table with a previous_id column such as aliases, its previous_id) is one
// of the request's ids. On a sharded cluster the local tables
// (local_<name>) are deleted from and the Distributed tables in front of
// them (<name>) are counted and exported, so every shard is seen.
type Warehouse struct {
	cfg  Config
	conn driver.Conn
	ddl  ddl
	own  bool // Close closes conn
}

// warehouseConns bounds the connections of a Warehouse opened alone: the
// regulator's counts and deletes, and a few exports streaming at once.
const warehouseConns = 4

// OpenWarehouse returns the Warehouse of a ClickHouse destination's Config
// (as FromSettings reads it): its servers, protocol, TLS, credentials,
// Database and Cluster; the insert settings are not used. It neither
// connects nor runs DDL: a regulator starts while ClickHouse is down, and
// its deletes wait, retried, until the servers answer. Close releases it.
func OpenWarehouse(cfg Config) (*Warehouse, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := connect(cfg, warehouseConns)
	if err != nil {
		return nil, err
	}
	return &Warehouse{cfg: cfg, conn: conn, ddl: newDDL(cfg), own: true}, nil
}

// Close closes the connections of a Warehouse from OpenWarehouse.
func (w *Warehouse) Close() error {
	if !w.own {
		return nil
	}
	return w.conn.Close()
}

// Database is the ClickHouse database the Warehouse works on.
func (w *Warehouse) Database() string { return w.cfg.Database }

// subjectTable is a table holding subjects' rows.
type subjectTable struct {
	name       string   // the MergeTree table deleted from
	read       string   // the table counted and exported: name, or the Distributed table in front of it
	columns    []string // read's columns, in order
	previousID bool     // has a previous_id column, matched too
}

// tableInfo is a table of the database as system.tables and system.columns
// describe it.
type tableInfo struct {
	name, engine string
	columns      []string
}

// subjectTables lists the tables holding subjects' rows, by read name.
func (w *Warehouse) subjectTables(ctx context.Context) ([]subjectTable, error) {
	rows, err := w.conn.Query(ctx, `SELECT t.name, t.engine, c.name FROM system.tables AS t
		INNER JOIN system.columns AS c ON c.database = t.database AND c.table = t.name
		WHERE t.database = ? ORDER BY t.name, c.position`, w.cfg.Database)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: listing the tables of %s: %w", w.cfg.Database, err)
	}
	defer rows.Close()
	var all []tableInfo
	for rows.Next() {
		var name, engine, column string
		if err := rows.Scan(&name, &engine, &column); err != nil {
			return nil, fmt.Errorf("clickhouse: listing the tables of %s: %w", w.cfg.Database, err)
		}
		if len(all) == 0 || all[len(all)-1].name != name {
			all = append(all, tableInfo{name: name, engine: engine})
		}
		t := &all[len(all)-1]
		t.columns = append(t.columns, column)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: listing the tables of %s: %w", w.cfg.Database, err)
	}
	return subjectTables(all), nil
}

// subjectTables picks out of a database's tables those holding subjects'
// rows (see Warehouse), sorted by the name they are read through.
func subjectTables(all []tableInfo) []subjectTable {
	byName := make(map[string]*tableInfo, len(all))
	for i := range all {
		byName[all[i].name] = &all[i]
	}
	var out []subjectTable
	for _, t := range all {
		if !strings.HasSuffix(t.engine, "MergeTree") || !slices.Contains(t.columns, "workspace") ||
			!slices.Contains(t.columns, "user_id") || !slices.Contains(t.columns, "anonymous_id") {
			continue
		}
		st := subjectTable{name: t.name, read: t.name, columns: t.columns}
		if front, ok := strings.CutPrefix(t.name, localPrefix); ok {
			if f := byName[front]; f != nil && f.engine == "Distributed" {
				st.read, st.columns = f.name, f.columns
			}
		}
		st.previousID = slices.Contains(st.columns, "previous_id")
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b subjectTable) int { return strings.Compare(a.read, b.read) })
	return out
}

// subjectPredicate matches the request's subjects with the ids as literal
// lists; shown is the same with the lists elided to their length, for
// receipts. Exports use it; deletes and counts name the ids through
// subjects.
func subjectPredicate(req sinks.DeleteRequest, previousID bool) (where, shown string) {
	return literalSubjects(req).where(previousID)
}

// literalSubjects names the request's subjects with literal id lists.
func literalSubjects(req sinks.DeleteRequest) *subjects {
	s := &subjects{workspace: req.Workspace, nUsers: len(req.UserIDs), nAnons: len(req.AnonymousIDs)}
	if len(req.UserIDs) > 0 {
		s.users = quoteStrings(req.UserIDs)
	}
	if len(req.AnonymousIDs) > 0 {
		s.anons = quoteStrings(req.AnonymousIDs)
	}
	return s
}
