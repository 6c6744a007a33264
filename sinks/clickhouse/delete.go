package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
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
// core tables, users, every typed table). Per table that holds any of their
// rows, masked or not, it runs (ON CLUSTER with a cluster, waiting for
// every replica): the purge settings (purgeSettings), one lightweight
// DELETE, and one ALTER TABLE … APPLY DELETED MASK for the partitions that
// held the rows, which rewrites those parts without them; then a count
// with apply_deleted_mask = 0, which must be 0. So when Delete returns, no
// active part holds a row of the subjects and no query or setting returns
// one; the replaced parts leave the disks within PurgeWithin (PurgedBefore
// tells when). Statements name the ids through Set tables (see subjects).
// The receipt lists rows before and after per table and the statements,
// ids elided. Rows left fail the call, to be retried.
func (w *Warehouse) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	if err := req.Validate(); err != nil {
		return sinks.Receipt{}, err
	}
	tables, err := w.subjectTables(ctx)
	if err != nil {
		return sinks.Receipt{}, err
	}
	subj, err := w.openSubjects(ctx, req)
	if err != nil {
		return sinks.Receipt{}, err
	}
	defer subj.close(ctx, w)
	var rec sinks.Receipt
	var left []string
	for _, t := range tables {
		where, shown := subj.where(t.previousID)
		count := sinks.TableCount{Table: t.read}
		held, err := w.held(ctx, t, where)
		if err != nil {
			return rec, err
		}
		for _, n := range held {
			count.Before += n
		}
		if count.Before > 0 {
			e := w.ddl.erasure(t, w.cfg.PurgeWithin, partitionIDs(held))
			for _, stmt := range []struct{ run, shown string }{
				{e.settings, e.settings}, {e.deleteFrom + where, e.deleteFrom + shown}, {e.rewrite, e.rewrite},
			} {
				rec.Statements = append(rec.Statements, stmt.shown)
				// Wait until every replica applied the statement, so the
				// count below sees what analysts will see.
				sctx := ch.Context(ctx, ch.WithSettings(withSync(subj.settings(stmt.run))))
				if err := w.conn.Exec(sctx, stmt.run); err != nil {
					return rec, fmt.Errorf("clickhouse: deleting from %s: %s: %w", t.name, firstLine(stmt.shown), err)
				}
			}
			after, err := w.held(ctx, t, where)
			if err != nil {
				return rec, err
			}
			for _, n := range after {
				count.After += n
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

// held counts the rows matching where in t's parts, masked by a
// lightweight delete or not (apply_deleted_mask = 0), per partition id; on
// a cluster (read through a Distributed table there) under the one key "".
func (w *Warehouse) held(ctx context.Context, t subjectTable, where string) (map[string]uint64, error) {
	rows, err := w.conn.Query(ch.Context(ctx, ch.WithSettings(unmasked(bigQuery(where)))), w.ddl.heldQuery(t, where))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var id string
		var n uint64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
		}
		if n > 0 {
			out[id] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", t.read, err)
	}
	return out, nil
}

// heldQuery is the count of held: per partition on one server, in all on
// a cluster (partitions are not read through a Distributed table).
func (d ddl) heldQuery(t subjectTable, where string) string {
	if d.cluster != "" {
		return "SELECT '', count() FROM " + d.qualified(t.read) + " WHERE " + where
	}
	return "SELECT _partition_id, count() FROM " + d.qualified(t.read) + " WHERE " + where + " GROUP BY _partition_id"
}

// partitionIDs lists the partitions of a held count, sorted; nil on a
// cluster, where the whole table is rewritten.
func partitionIDs(held map[string]uint64) []string {
	if _, ok := held[""]; ok {
		return nil
	}
	return slices.Sorted(maps.Keys(held))
}

// erasure is what Delete runs on a table, in order.
type erasure struct {
	settings   string // the purge settings
	deleteFrom string // the DELETE up to its WHERE; the predicate follows
	rewrite    string // the rewrite of the partitions that held the rows
}

// erasure renders Delete's statements for t; partitions nil rewrites the
// whole table.
func (d ddl) erasure(t subjectTable, within time.Duration, partitions []string) erasure {
	table := d.qualified(t.name) + d.onCluster()
	rewrite := "ALTER TABLE " + table + " APPLY DELETED MASK"
	if len(partitions) > 0 {
		cmds := make([]string, len(partitions))
		for i, p := range partitions {
			cmds[i] = "APPLY DELETED MASK IN PARTITION ID " + quoteString(p)
		}
		rewrite = "ALTER TABLE " + table + " " + strings.Join(cmds, ", ")
	}
	return erasure{
		settings:   "ALTER TABLE " + table + " MODIFY SETTING " + purgeSettings(within, d.cluster != ""),
		deleteFrom: "DELETE FROM " + table + " WHERE ",
		rewrite:    rewrite,
	}
}

// purgeSettings are the MergeTree settings that bound how long a replaced
// part stays on disk (the table's parts are removed by a cleanup thread
// that wakes every cleanup_delay_period plus up to the random add, backing
// off to max_cleanup_delay_period when idle, and removes parts outdated
// for old_parts_lifetime): old_parts_lifetime = within/2 (at most
// ClickHouse's default 480s, kept for crash safety), cleanup periods of
// within/10 (at most 30s) and within/4 (at most 300s): together under
// within. On a cluster finished_mutations_to_keep = 1 also drops the
// DELETE's record (its ids are literals there) once the rewrite after it
// has finished.
func purgeSettings(within time.Duration, cluster bool) string {
	secs := func(d, most time.Duration) int64 { return int64(max(min(d, most), time.Second) / time.Second) }
	period := secs(within/10, 30*time.Second)
	s := fmt.Sprintf("old_parts_lifetime = %d, cleanup_delay_period = %d, cleanup_delay_period_random_add = %d, max_cleanup_delay_period = %d",
		secs(within/2, 480*time.Second), period, min(period, 10), secs(within/4, 300*time.Second))
	if cluster {
		s += ", finished_mutations_to_keep = 1"
	}
	return s
}

// CountSubjects counts the rows of several requests' subjects, all of one
// workspace, with one query per table: rows[i][j] is how many rows of
// tables[j] are request i's (a row of several requests counts for each).
// It counts every row the table's parts hold, masked by a lightweight
// delete or not (apply_deleted_mask = 0): 0 means no query, whatever its
// settings, returns one. tables names every table holding subjects' rows,
// as Delete's receipts do.
func (w *Warehouse) CountSubjects(ctx context.Context, reqs []sinks.DeleteRequest) (tables []string, rows [][]uint64, err error) {
	union, byUser, byAnon, err := unionOf(reqs)
	if err != nil {
		return nil, nil, err
	}
	ts, err := w.subjectTables(ctx)
	if err != nil {
		return nil, nil, err
	}
	subj, err := w.openSubjects(ctx, union)
	if err != nil {
		return nil, nil, err
	}
	defer subj.close(ctx, w)
	rows = make([][]uint64, len(reqs))
	for i := range rows {
		rows[i] = make([]uint64, len(ts))
	}
	// seen[i] == row marks request i as counted for the current result row.
	seen := make([]int, len(reqs))
	row := 0
	for j, t := range ts {
		tables = append(tables, t.read)
		where, _ := subj.where(t.previousID)
		prev := "''"
		if t.previousID {
			prev = "ifNull(toString(previous_id), '')"
		}
		q := "SELECT ifNull(toString(user_id), ''), ifNull(toString(anonymous_id), ''), " + prev + ", count() FROM " +
			w.ddl.qualified(t.read) + " WHERE " + where + " GROUP BY 1, 2, 3"
		res, err := w.conn.Query(ch.Context(ctx, ch.WithSettings(unmasked(subj.settings(where)))), q)
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

// unmasked makes a query read the rows a lightweight delete masked too.
func unmasked(s ch.Settings) ch.Settings {
	s["apply_deleted_mask"] = 0
	return s
}

func withSync(s ch.Settings) ch.Settings {
	s["lightweight_deletes_sync"] = 2
	s["mutations_sync"] = 2
	return s
}
