package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks"
)

// Delete erases the subjects from every sluice table of the database (the
// core tables, users, and every typed table): per table that holds any of
// their rows, one lightweight DELETE matching the workspace and any of the
// user ids or anonymous ids (aliases also by previous_id), then a count that
// must be 0. Deleted rows vanish from every query at once; the disk space is
// reclaimed by later merges. The receipt lists rows before and after per
// table and the statements, ids elided.
func (s *Sink) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	if err := s.enter(); err != nil {
		return sinks.Receipt{}, err
	}
	defer s.inflight.Done()
	if err := req.Validate(); err != nil {
		return sinks.Receipt{}, err
	}
	tables, err := s.subjectTables(ctx)
	if err != nil {
		return sinks.Receipt{}, err
	}
	var rec sinks.Receipt
	for _, t := range tables {
		where, shown := s.subjectPredicate(req, t.hasPreviousID)
		qctx := ch.Context(ctx, ch.WithSettings(bigQuery(where)))
		from := s.ddl.qualified(t.name)
		before, err := s.count(qctx, from, where)
		if err != nil {
			return rec, err
		}
		count := sinks.TableCount{Table: t.name, Before: before}
		if before > 0 {
			stmt := "DELETE FROM " + from + s.ddl.onCluster() + " WHERE "
			rec.Statements = append(rec.Statements, stmt+shown)
			// Wait until every replica applied the delete, so the count
			// below sees what analysts will see.
			dctx := ch.Context(ctx, ch.WithSettings(withSync(bigQuery(where))))
			if err := s.conn.Exec(dctx, stmt+where); err != nil {
				return rec, fmt.Errorf("clickhouse: deleting from %s: %w", t.name, err)
			}
			if count.After, err = s.count(qctx, from, where); err != nil {
				return rec, err
			}
		}
		rec.Tables = append(rec.Tables, count)
		if count.After != 0 {
			return rec, fmt.Errorf("clickhouse: %d rows of the subjects remain in %s after DELETE", count.After, t.name)
		}
	}
	rec.Finished = time.Now().UTC()
	return rec, nil
}

// subjectTable is a table holding subjects' rows.
type subjectTable struct {
	name          string
	hasPreviousID bool
}

// subjectTables lists the database's tables with workspace, user_id and
// anonymous_id columns: sluice's, including typed tables other sluice
// processes created.
func (s *Sink) subjectTables(ctx context.Context) ([]subjectTable, error) {
	s.cat.mu.Lock()
	defer s.cat.mu.Unlock()
	if err := s.cat.load(ctx, ""); err != nil {
		return nil, err
	}
	var out []subjectTable
	for name, cols := range s.cat.tables {
		_, w := cols["workspace"]
		_, u := cols["user_id"]
		_, a := cols["anonymous_id"]
		if w && u && a {
			_, p := cols["previous_id"]
			out = append(out, subjectTable{name: name, hasPreviousID: p})
		}
	}
	slices.SortFunc(out, func(a, b subjectTable) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// subjectPredicate matches the request's subjects; shown is the same with
// the id lists elided to their length, for receipts.
func (s *Sink) subjectPredicate(req sinks.DeleteRequest, previousID bool) (where, shown string) {
	var terms, shownTerms []string
	add := func(col string, ids []string) {
		if len(ids) == 0 {
			return
		}
		terms = append(terms, col+" IN "+quoteStrings(ids))
		shownTerms = append(shownTerms, fmt.Sprintf("%s IN (<%d ids>)", col, len(ids)))
	}
	add("user_id", req.UserIDs)
	add("anonymous_id", req.AnonymousIDs)
	if previousID {
		add("previous_id", append(slices.Clone(req.UserIDs), req.AnonymousIDs...))
	}
	ws := "workspace = " + quoteString(req.Workspace)
	return ws + " AND (" + strings.Join(terms, " OR ") + ")", ws + " AND (" + strings.Join(shownTerms, " OR ") + ")"
}

func (s *Sink) count(ctx context.Context, from, where string) (uint64, error) {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM "+from+" WHERE "+where).Scan(&n); err != nil {
		return 0, fmt.Errorf("clickhouse: counting the subjects' rows in %s: %w", from, err)
	}
	return n, nil
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
