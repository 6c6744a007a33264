package clickhouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
)

// catalog is what the sink knows of its database: every table's columns, as
// system.columns reports them, and the typed-table layout of every schema
// version met. DDL runs under mu; tables are only ever created, given new
// columns or retyped typed paths, and given the retention TTL; never dropped.
type catalog struct {
	conn driver.Conn
	ddl  ddl
	cfg  *Config

	mu      sync.Mutex
	tables  map[string]map[string]string // table → column → type
	layouts map[layoutKey]*layout
	// statements records every DDL statement run, for tests and logs.
	statements []string
}

// layoutKey identifies one schema version of a planned track event.
type layoutKey struct {
	plan         string
	planVersion  uint32
	event        string
	eventVersion uint32 // 0: the latest version in that plan version
}

// layout is how the events of one schema version fill their typed table.
type layout struct {
	table  string
	fields []typedColumn
	// cols are the inserted columns with their types in the table.
	cols []ch.ColumnNameAndType
	// version is the schema's event version, for the event_version column.
	version uint32
	// err refuses the schema's events (a *sinks.SchemaError); nil for none.
	err error
}

// load reads every table and column of the database.
func (c *catalog) load(ctx context.Context, table string) error {
	q := "SELECT table, name, type FROM system.columns WHERE database = ?"
	args := []any{c.cfg.Database}
	if table != "" {
		q += " AND table = ?"
		args = append(args, table)
	}
	rows, err := c.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("clickhouse: reading the columns of %s: %w", c.cfg.Database, err)
	}
	defer rows.Close()
	found := map[string]map[string]string{}
	for rows.Next() {
		var t, name, typ string
		if err := rows.Scan(&t, &name, &typ); err != nil {
			return err
		}
		if found[t] == nil {
			found[t] = map[string]string{}
		}
		found[t][name] = typ
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if table != "" {
		if cols, ok := found[table]; ok {
			c.tables[table] = cols
		} else {
			delete(c.tables, table)
		}
		return nil
	}
	c.tables = found
	return nil
}

func (c *catalog) exec(ctx context.Context, stmt string) error {
	c.statements = append(c.statements, stmt)
	if err := c.conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("clickhouse: %s: %w", firstLine(stmt), err)
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// ensureTable creates t if missing and adds the columns it lacks, then
// returns the table's columns as they now are.
func (c *catalog) ensureTable(ctx context.Context, t *table) (map[string]string, error) {
	if c.tables[t.name] == nil {
		for _, stmt := range c.ddl.createStatements(t) {
			if err := c.exec(ctx, stmt); err != nil {
				return nil, err
			}
		}
		// Another process may have created it first, with other columns.
		if err := c.load(ctx, t.name); err != nil {
			return nil, err
		}
	}
	have := c.tables[t.name]
	if missing := missingColumns(have, t.columns); len(missing) > 0 {
		for _, stmt := range c.ddl.addColumnStatements(t.name, missing) {
			if err := c.exec(ctx, stmt); err != nil {
				return nil, err
			}
		}
		if err := c.load(ctx, t.name); err != nil {
			return nil, err
		}
		have = c.tables[t.name]
	}
	if have == nil {
		return nil, fmt.Errorf("clickhouse: table %s.%s does not exist after CREATE TABLE", c.cfg.Database, t.name)
	}
	return have, nil
}

// missingColumns returns the columns of cols a table with have lacks.
func missingColumns(have map[string]string, cols []column) []column {
	var out []column
	for _, col := range cols {
		if _, ok := have[col.name]; !ok {
			out = append(out, col)
		}
	}
	return out
}

// ensureCore creates and migrates the core tables, brings every table's
// retention TTL in line (alignRetention), and returns, per core table, the
// columns inserts name. A core column whose type differs from sluice's
// (but for the JSON column mode, which the existing table decides) stops
// the sink from opening: someone changed the table by hand. shards is the
// cluster's shard count (0 without a cluster); with the tables already
// there it decides whether the database is sharded (see Config.Cluster).
func (c *catalog) ensureCore(ctx context.Context, shards int) (map[string][]ch.ColumnNameAndType, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.exec(ctx, c.ddl.createDatabase()); err != nil {
		return nil, err
	}
	if err := c.load(ctx, ""); err != nil {
		return nil, err
	}
	c.ddl.sharded = c.sharded(shards)
	out := map[string][]ch.ColumnNameAndType{}
	for _, t := range coreTables {
		have, err := c.ensureTable(ctx, t)
		if err != nil {
			return nil, err
		}
		if have, err = c.migrateTypedPaths(ctx, t, have); err != nil {
			return nil, err
		}
		var cols []ch.ColumnNameAndType
		for _, col := range t.columns {
			typ := have[col.name]
			want := c.ddl.columnType(col.typ)
			jsonCol := isJSON(col.typ) && (isJSON(typ) || typ == "String")
			if !jsonCol && !sameType(typ, want) {
				return nil, fmt.Errorf("clickhouse: table %s.%s: column %s is %s, sluice needs %s: restore it by hand",
					c.cfg.Database, t.name, col.name, typ, want)
			}
			if col.field != fLoadedAt {
				cols = append(cols, ch.ColumnNameAndType{Name: col.name, Type: typ})
			}
		}
		out[t.name] = cols
	}
	if err := c.alignRetention(ctx); err != nil {
		return nil, err
	}
	return out, nil
}

// migrateTypedPaths retypes the JSON columns of t whose typed paths differ
// from sluice's (a context column made by a sluice before 2026-12, whose
// paths were String: absent fields read ""), with ALTER TABLE … MODIFY
// COLUMN, and returns the table's columns as they now are. Rows already
// stored keep their "" (ClickHouse converts String to Nullable(String)
// value by value); new rows get NULL for absent fields. A table whose
// columns match runs nothing, so calling it at every start is idempotent.
func (c *catalog) migrateTypedPaths(ctx context.Context, t *table, have map[string]string) (map[string]string, error) {
	var stale []column
	for _, col := range t.columns {
		typ, ok := have[col.name]
		if ok && isJSON(col.typ) && isJSON(typ) && c.ddl.jsonType == "JSON" && !sameTypedPaths(typ, col.typ) {
			stale = append(stale, col)
		}
	}
	if len(stale) == 0 {
		return have, nil
	}
	c.cfg.Logger.Info("retyping the typed paths of JSON columns", "database", c.cfg.Database, "table", t.name)
	for _, stmt := range c.ddl.modifyColumnStatements(t.name, stale) {
		if err := c.exec(ctx, stmt); err != nil {
			return nil, err
		}
	}
	if err := c.load(ctx, t.name); err != nil {
		return nil, err
	}
	return c.tables[t.name], nil
}

// sameTypedPaths reports whether the JSON type have (as system.columns
// spells it) declares every typed path of want with want's type.
func sameTypedPaths(have, want string) bool {
	h, w := typedPaths(have), typedPaths(want)
	for path, typ := range w {
		if h[path] != typ {
			return false
		}
	}
	return true
}

// typedPaths reads the "path Type" parameters of a JSON type; other
// parameters (max_dynamic_paths=…, SKIP …) are left out.
func typedPaths(typ string) map[string]string {
	out := map[string]string{}
	params, ok := strings.CutPrefix(typ, "JSON(")
	if !ok {
		return out
	}
	for part := range strings.SplitSeq(strings.TrimSuffix(params, ")"), ", ") {
		path, ptyp, ok := strings.Cut(strings.TrimSpace(part), " ")
		if !ok || strings.Contains(path, "=") || path == "SKIP" {
			continue
		}
		if unq, err := strconv.Unquote(path); err == nil && strings.HasPrefix(path, "`") {
			path = unq
		}
		out[path] = ptyp
	}
	return out
}

// layoutFor returns the typed-table layout of a schema version, creating
// or extending the table on first use.
func (c *catalog) layoutFor(ctx context.Context, key layoutKey, s *plan.Schema) (*layout, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.layouts[key]; ok {
		return l, nil
	}
	name := TypedTableName(s.Event)
	fields := typedColumns(s)
	cols := make([]column, len(fields))
	for i := range fields {
		cols[i] = fields[i].column
	}
	def := typedTableDef(name, s.Event, cols)
	l := &layout{table: name, fields: fields, version: uint32(s.Version)}

	// Refuse before adding anything: a schema whose columns clash adds none.
	if have := c.tables[name]; have != nil {
		if err := c.clash(name, have, fields, key, s); err != nil {
			l.err = err
			c.layouts[key] = l
			return l, nil
		}
	}
	have, err := c.ensureTable(ctx, def)
	if err != nil {
		return nil, err // retryable or not, the caller's Write reports it
	}
	if err := c.clash(name, have, fields, key, s); err != nil {
		l.err = err
		c.layouts[key] = l
		return l, nil
	}
	for _, col := range typedBase {
		if col.field != fLoadedAt {
			l.cols = append(l.cols, ch.ColumnNameAndType{Name: col.name, Type: have[col.name]})
		}
	}
	for _, f := range fields {
		l.cols = append(l.cols, ch.ColumnNameAndType{Name: f.name, Type: have[f.name]})
	}
	c.layouts[key] = l
	return l, nil
}

// clash returns a *sinks.SchemaError for the first field whose column
// exists with a type that cannot take the field's values.
func (c *catalog) clash(table string, have map[string]string, fields []typedColumn, key layoutKey, s *plan.Schema) error {
	for _, f := range fields {
		typ, ok := have[f.name]
		if !ok {
			continue
		}
		want := c.ddl.columnType(f.typ)
		if sameType(typ, want) || isJSON(f.typ) && (isJSON(typ) || typ == "String") {
			continue
		}
		return &sinks.SchemaError{
			Table: c.cfg.Database + "." + table, Column: f.name, Have: typ, Want: want,
			Schema: "plan " + key.plan + " v" + strconv.Itoa(int(key.planVersion)) + ", " + s.Target(),
		}
	}
	return nil
}

// sharded decides the database's layout: the one its tables already have
// (a local tracks table means sharded), else sharded when the cluster has
// several shards. A database made for one shard stays so when the cluster
// grows: moving its rows is the operator's decision.
func (c *catalog) sharded(shards int) bool {
	if c.ddl.cluster == "" {
		return false
	}
	if c.tables[localPrefix+tableTracks] != nil {
		return true
	}
	if c.tables[tableTracks] != nil {
		if shards > 1 {
			c.cfg.Logger.Warn("the warehouse tables were made for one shard; the cluster now has several: "+
				"inserts stay on the shards behind the configured servers",
				"database", c.cfg.Database, "cluster", c.ddl.cluster, "shards", shards)
		}
		return false
	}
	return shards > 1
}
