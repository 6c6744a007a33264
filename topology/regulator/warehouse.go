package regulator

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/sinks"
)

// Warehouse is sluice's own ClickHouse database: every MergeTree table in it
// with a user_id column holds rows of subjects (and, with an anonymous_id
// column, of anonymousIds). It deletes (it is a Deleter), counts and exports
// a subject's rows. Safe for concurrent use.
type Warehouse struct {
	conn     driver.Conn
	database string
}

// NewWarehouse returns the Warehouse of database on conn (any clickhouse-go
// protocol). It does not close conn.
func NewWarehouse(conn driver.Conn, database string) *Warehouse {
	return &Warehouse{conn: conn, database: database}
}

// Database is the ClickHouse database the Warehouse works on.
func (w *Warehouse) Database() string { return w.database }

// maxQueryBytes lets a statement hold the ids of a whole batch inline:
// ClickHouse parses at most max_query_size bytes (256 KiB by default).
const maxQueryBytes = 256 << 20

func (w *Warehouse) ctx(ctx context.Context) context.Context {
	return ch.Context(ctx, ch.WithSettings(ch.Settings{"max_query_size": maxQueryBytes}))
}

// table is a table holding subjects' rows.
type table struct {
	name         string
	columns      []string
	hasAnonymous bool // has an anonymous_id column
	hasWorkspace bool // has a workspace column: rows of other workspaces are kept
}

// tables lists the database's tables that hold subjects' rows: MergeTree
// tables (lightweight deletes need one) with a user_id column.
func (w *Warehouse) tables(ctx context.Context) ([]table, error) {
	rows, err := w.conn.Query(w.ctx(ctx), `SELECT c.table, c.name FROM system.columns AS c
		WHERE c.database = `+quote(w.database)+` AND c.table IN (SELECT name FROM system.tables
			WHERE database = `+quote(w.database)+` AND engine LIKE '%MergeTree')
		ORDER BY c.table, c.position`)
	if err != nil {
		return nil, fmt.Errorf("regulator: list tables of %s: %w", w.database, err)
	}
	defer rows.Close()
	var out []table
	for rows.Next() {
		var name, column string
		if err := rows.Scan(&name, &column); err != nil {
			return nil, fmt.Errorf("regulator: list tables of %s: %w", w.database, err)
		}
		if len(out) == 0 || out[len(out)-1].name != name {
			out = append(out, table{name: name})
		}
		t := &out[len(out)-1]
		t.columns = append(t.columns, column)
		t.hasAnonymous = t.hasAnonymous || column == "anonymous_id"
		t.hasWorkspace = t.hasWorkspace || column == "workspace"
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("regulator: list tables of %s: %w", w.database, err)
	}
	return slices.DeleteFunc(out, func(t table) bool { return !slices.Contains(t.columns, "user_id") }), nil
}

// where is the condition selecting the subjects' rows of t; "" when t cannot
// hold any of them.
func (w *Warehouse) where(t table, workspace string, users, anons []string, elide bool) string {
	var or []string
	if len(users) > 0 {
		or = append(or, "user_id IN "+list(users, elide))
	}
	if len(anons) > 0 && t.hasAnonymous {
		or = append(or, "anonymous_id IN "+list(anons, elide))
	}
	if len(or) == 0 {
		return ""
	}
	cond := "(" + strings.Join(or, " OR ") + ")"
	if t.hasWorkspace && workspace != "" {
		cond += " AND workspace = " + quote(workspace)
	}
	return cond
}

func (w *Warehouse) name(t table) string { return ident(w.database) + "." + ident(t.name) }

// Delete deletes every row of the request's subjects from every table, one
// lightweight DELETE per table, and counts them before and after: it is a
// sinks.Deleter. It fails (to be retried) when a row is left.
func (w *Warehouse) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	var rc sinks.Receipt
	ts, err := w.tables(ctx)
	if err != nil {
		return rc, err
	}
	var after int64
	for _, t := range ts {
		cond := w.where(t, req.Workspace, req.UserIDs, req.AnonymousIDs, false)
		if cond == "" {
			continue
		}
		n, err := w.count(ctx, t, cond)
		if err != nil {
			return rc, err
		}
		if n > 0 {
			if err := w.conn.Exec(w.ctx(ctx), "DELETE FROM "+w.name(t)+" WHERE "+cond); err != nil {
				return rc, fmt.Errorf("regulator: delete from %s: %w", w.name(t), err)
			}
			rc.Statements = append(rc.Statements, "DELETE FROM "+w.name(t)+" WHERE "+w.where(t, req.Workspace, req.UserIDs, req.AnonymousIDs, true))
		}
		left, err := w.count(ctx, t, cond)
		if err != nil {
			return rc, err
		}
		rc.Tables = append(rc.Tables, sinks.TableCount{Table: t.name, Before: uint64(n), After: uint64(left)})
		after += left
	}
	rc.Finished = time.Now().UTC()
	if after > 0 {
		return rc, fmt.Errorf("regulator: %d rows of the subjects are still in %s after the delete", after, w.database)
	}
	return rc, nil
}

func (w *Warehouse) count(ctx context.Context, t table, cond string) (int64, error) {
	var n uint64
	if err := w.conn.QueryRow(w.ctx(ctx), "SELECT count() FROM "+w.name(t)+" WHERE "+cond).Scan(&n); err != nil {
		return 0, fmt.Errorf("regulator: count in %s: %w", w.name(t), err)
	}
	return int64(n), nil
}

// subjectRows counts rows by (table, user_id, anonymous_id).
type subjectRows struct {
	table, user, anon string
	rows              int64
}

// countSubjects counts the subjects' rows in every table, grouped so that
// each regulation of a batch can be given its own counts.
func (w *Warehouse) countSubjects(ctx context.Context, workspace string, users, anons []string) ([]subjectRows, []string, error) {
	ts, err := w.tables(ctx)
	if err != nil {
		return nil, nil, err
	}
	var out []subjectRows
	var names []string
	for _, t := range ts {
		names = append(names, t.name)
		cond := w.where(t, workspace, users, anons, false)
		if cond == "" {
			continue
		}
		anon := "''"
		if t.hasAnonymous {
			anon = "ifNull(toString(anonymous_id), '')"
		}
		rows, err := w.conn.Query(w.ctx(ctx), "SELECT ifNull(toString(user_id), ''), "+anon+", count() FROM "+w.name(t)+
			" WHERE "+cond+" GROUP BY 1, 2")
		if err != nil {
			return nil, nil, fmt.Errorf("regulator: count in %s: %w", w.name(t), err)
		}
		for rows.Next() {
			r := subjectRows{table: t.name}
			var n uint64
			if err := rows.Scan(&r.user, &r.anon, &n); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("regulator: count in %s: %w", w.name(t), err)
			}
			r.rows = int64(n)
			out = append(out, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("regulator: count in %s: %w", w.name(t), err)
		}
	}
	return out, names, nil
}

// export calls fn with every row of the subjects, table by table, as a JSON
// object of its columns.
func (w *Warehouse) export(ctx context.Context, ts []table, workspace string, users, anons []string, fn func(t table, row json.RawMessage) error) error {
	for _, t := range ts {
		cond := w.where(t, workspace, users, anons, false)
		if cond == "" {
			continue
		}
		rows, err := w.conn.Query(w.ctx(ctx), "SELECT formatRowNoNewline('JSONEachRow', *) FROM "+w.name(t)+" WHERE "+cond)
		if err != nil {
			return fmt.Errorf("regulator: export from %s: %w", w.name(t), err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return fmt.Errorf("regulator: export from %s: %w", w.name(t), err)
			}
			if err := fn(t, json.RawMessage(s)); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("regulator: export from %s: %w", w.name(t), err)
		}
	}
	return nil
}

// list renders ids as a ClickHouse tuple literal, or, elided, as a count.
func list(ids []string, elide bool) string {
	if elide && len(ids) > 3 {
		return "(" + strconv.Itoa(len(ids)) + " ids)"
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(id))
	}
	b.WriteByte(')')
	return b.String()
}

// quote renders s as a ClickHouse string literal.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// ident renders s as a ClickHouse identifier.
func ident(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}
