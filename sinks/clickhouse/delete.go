package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks"
)

// Delete erases the subjects through the sink's Warehouse: see
// Warehouse.Delete.
func (s *Sink) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	if err := s.enter(); err != nil {
		return sinks.Receipt{}, err
	}
	defer s.inflight.Done()
	return s.wh.Delete(ctx, req)
}

// Delete erases the subjects from every table holding subjects' rows (the
// core tables, users, every typed table): per table that holds any of
// their rows, one lightweight DELETE (ON CLUSTER with a cluster) that
// returns once every replica applied it, then a count that must be 0.
// Deleted rows vanish from every query at once; the disk space is reclaimed
// by later merges. The receipt lists rows before and after per table and
// the statements, ids elided. Rows left fail the call, to be retried.
func (w *Warehouse) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	if err := req.Validate(); err != nil {
		return sinks.Receipt{}, err
	}
	tables, err := w.subjectTables(ctx)
	if err != nil {
		return sinks.Receipt{}, err
	}
	var rec sinks.Receipt
	var left []string
	for _, t := range tables {
		where, shown := subjectPredicate(req, t.previousID)
		qctx := ch.Context(ctx, ch.WithSettings(bigQuery(where)))
		count := sinks.TableCount{Table: t.read}
		if count.Before, err = w.count(qctx, t, where); err != nil {
			return rec, err
		}
		if count.Before > 0 {
			stmt := w.ddl.deleteFrom(t)
			rec.Statements = append(rec.Statements, stmt+shown)
			// Wait until every replica applied the delete, so the count
			// below sees what analysts will see.
			dctx := ch.Context(ctx, ch.WithSettings(withSync(bigQuery(where))))
			if err := w.conn.Exec(dctx, stmt+where); err != nil {
				return rec, fmt.Errorf("clickhouse: deleting from %s: %w", t.name, err)
			}
			if count.After, err = w.count(qctx, t, where); err != nil {
				return rec, err
			}
		}
		rec.Tables = append(rec.Tables, count)
		if count.After != 0 {
			left = append(left, fmt.Sprintf("%d in %s", count.After, t.read))
		}
	}
	rec.Finished = time.Now().UTC()
	if len(left) > 0 {
		return rec, fmt.Errorf("clickhouse: rows of the subjects remain after DELETE: %s", strings.Join(left, ", "))
	}
	return rec, nil
}

// deleteFrom is the head of t's DELETE statement, up to its WHERE.
func (d ddl) deleteFrom(t subjectTable) string {
	return "DELETE FROM " + d.qualified(t.name) + d.onCluster() + " WHERE "
}

// countFrom is the head of t's count of subjects' rows, up to its WHERE.
func (d ddl) countFrom(t subjectTable) string {
	return "SELECT count() FROM " + d.qualified(t.read) + " WHERE "
}

func (w *Warehouse) count(ctx context.Context, t subjectTable, where string) (uint64, error) {
	var n uint64
	if err := w.conn.QueryRow(ctx, w.ddl.countFrom(t)+where).Scan(&n); err != nil {
		return 0, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
	}
	return n, nil
}

// CountSubjects counts the rows of several requests' subjects, all of one
// workspace, with one query per table: rows[i][j] is how many rows of
// tables[j] are request i's (a row of several requests counts for each).
// tables names every table holding subjects' rows, as Delete's receipts do.
func (w *Warehouse) CountSubjects(ctx context.Context, reqs []sinks.DeleteRequest) (tables []string, rows [][]uint64, err error) {
	union, byUser, byAnon, err := unionOf(reqs)
	if err != nil {
		return nil, nil, err
	}
	ts, err := w.subjectTables(ctx)
	if err != nil {
		return nil, nil, err
	}
	rows = make([][]uint64, len(reqs))
	for i := range rows {
		rows[i] = make([]uint64, len(ts))
	}
	// seen[i] == row marks request i as counted for the current result row.
	seen := make([]int, len(reqs))
	row := 0
	for j, t := range ts {
		tables = append(tables, t.read)
		where, _ := subjectPredicate(union, t.previousID)
		prev := "''"
		if t.previousID {
			prev = "ifNull(toString(previous_id), '')"
		}
		q := "SELECT ifNull(toString(user_id), ''), ifNull(toString(anonymous_id), ''), " + prev + ", count() FROM " +
			w.ddl.qualified(t.read) + " WHERE " + where + " GROUP BY 1, 2, 3"
		res, err := w.conn.Query(ch.Context(ctx, ch.WithSettings(bigQuery(where))), q)
		if err != nil {
			return nil, nil, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
		}
		for res.Next() {
			var user, anon, prevID string
			var n uint64
			if err := res.Scan(&user, &anon, &prevID, &n); err != nil {
				res.Close()
				return nil, nil, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
			}
			row++
			add := func(reqs []int) {
				for _, i := range reqs {
					if seen[i] != row {
						seen[i] = row
						rows[i][j] += n
					}
				}
			}
			add(byUser[user])
			add(byAnon[anon])
			if prevID != "" {
				add(byUser[prevID])
				add(byAnon[prevID])
			}
		}
		err = res.Err()
		res.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
		}
	}
	return tables, rows, nil
}

// unionOf merges requests of one workspace into one, and indexes which
// requests name each user id and anonymous id.
func unionOf(reqs []sinks.DeleteRequest) (union sinks.DeleteRequest, byUser, byAnon map[string][]int, err error) {
	if len(reqs) == 0 {
		return union, nil, nil, errors.New("clickhouse: no requests to count")
	}
	byUser, byAnon = map[string][]int{}, map[string][]int{}
	for i, r := range reqs {
		if err := r.Validate(); err != nil {
			return union, nil, nil, err
		}
		if i > 0 && r.Workspace != union.Workspace {
			return union, nil, nil, errors.New("clickhouse: requests of several workspaces")
		}
		union.Workspace = r.Workspace
		for _, id := range r.UserIDs {
			if byUser[id] == nil {
				union.UserIDs = append(union.UserIDs, id)
			}
			byUser[id] = append(byUser[id], i)
		}
		for _, id := range r.AnonymousIDs {
			if byAnon[id] == nil {
				union.AnonymousIDs = append(union.AnonymousIDs, id)
			}
			byAnon[id] = append(byAnon[id], i)
		}
	}
	return union, byUser, byAnon, nil
}

// bigQuery raises max_query_size for statements with long id lists (5,000
// ids exceed the 256 KiB default).
func bigQuery(where string) ch.Settings {
	s := ch.Settings{}
	if n := len(where) + 64<<10; n > 256<<10 {
		s["max_query_size"] = n
	}
	return s
}

func withSync(s ch.Settings) ch.Settings {
	s["lightweight_deletes_sync"] = 2
	s["mutations_sync"] = 2
	return s
}
