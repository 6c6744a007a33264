package clickhouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks"
)

// idSetPrefix names the Set tables that carry a delete's ids: no sluice
// table starts with it, and none of them has subject columns.
const idSetPrefix = "_sluice_ids_"

// idSetMaxAge is how old a Set table left by a crashed Delete must be before
// a later Delete drops it: far longer than any Delete runs.
const idSetMaxAge = time.Hour

// subjects names a request's subjects in statements. On one server the ids
// go into two Set tables (ENGINE = Set, persistent = 0: held in memory,
// never written to disk), inserted as data, and statements name the tables:
// the ids never appear in a statement's text, so neither in a mutation's
// command (system.mutations, the table's mutation_N.txt) nor in query logs.
// On a cluster every replica would need the sets, which one connection
// cannot fill; there the ids are literal lists (docs/warehouse.md says
// what remains of them and where).
type subjects struct {
	workspace    string
	users, anons string // IN operands: a Set table or a literal list; "" for none
	nUsers       int
	nAnons       int
	sets         []string // Set tables to drop, qualified
}

// openSubjects prepares the request's subjects for statements; close
// releases them. The caller closes it whatever happens.
func (w *Warehouse) openSubjects(ctx context.Context, req sinks.DeleteRequest) (*subjects, error) {
	if w.cfg.Cluster != "" {
		return literalSubjects(req), nil
	}
	s := &subjects{workspace: req.Workspace, nUsers: len(req.UserIDs), nAnons: len(req.AnonymousIDs)}
	w.dropStaleSets(ctx)
	var err error
	if s.users, err = w.idSet(ctx, s, req.UserIDs); err != nil {
		s.close(ctx, w)
		return nil, err
	}
	if s.anons, err = w.idSet(ctx, s, req.AnonymousIDs); err != nil {
		s.close(ctx, w)
		return nil, err
	}
	return s, nil
}

// idSet creates a Set table holding ids and returns its qualified name;
// "" for no ids.
func (w *Warehouse) idSet(ctx context.Context, s *subjects, ids []string) (string, error) {
	if len(ids) == 0 {
		return "", nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := w.ddl.qualified(idSetPrefix + hex.EncodeToString(b[:]))
	if err := w.conn.Exec(ctx, "CREATE TABLE "+name+" (id String) ENGINE = Set SETTINGS persistent = 0"); err != nil {
		return "", fmt.Errorf("clickhouse: creating a set of ids: %w", err)
	}
	s.sets = append(s.sets, name)
	batch, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+name+" (id)")
	if err != nil {
		return "", fmt.Errorf("clickhouse: filling a set of ids: %w", err)
	}
	if err := batch.Column(0).Append(slices.Clone(ids)); err != nil {
		_ = batch.Abort()
		return "", fmt.Errorf("clickhouse: filling a set of ids: %w", err)
	}
	if err := batch.Send(); err != nil {
		return "", fmt.Errorf("clickhouse: filling a set of ids: %w", err)
	}
	return name, nil
}

// close drops the Set tables, also when ctx has ended. A mutation still
// naming a set (its DELETE failed half-way) is killed first: dropped from
// under it, the set would fail the mutation on every retry and hold up the
// table's later mutations. The regulator's count finds what it missed.
func (s *subjects) close(ctx context.Context, w *Warehouse) {
	if len(s.sets) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for _, name := range s.sets {
		w.dropSet(ctx, name)
	}
	s.sets = nil
}

// dropSet kills the unfinished mutations naming a Set table, then drops it.
// Failures are left to dropStaleSets.
func (w *Warehouse) dropSet(ctx context.Context, qualified string) {
	_ = w.conn.Exec(ctx, "KILL MUTATION WHERE database = ? AND NOT is_done AND position(command, ?) > 0 SYNC",
		w.cfg.Database, unqualified(qualified))
	if err := w.conn.Exec(ctx, "DROP TABLE IF EXISTS "+qualified+" SYNC"); err != nil {
		w.cfg.Logger.Warn("clickhouse: could not drop a set of ids; a later delete drops it", "table", qualified, "err", err)
	}
}

// dropStaleSets drops the Set tables older than idSetMaxAge: those of a
// Delete that died before its close. Best effort.
func (w *Warehouse) dropStaleSets(ctx context.Context) {
	rows, err := w.conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND startsWith(name, ?) AND metadata_modification_time < now() - ?",
		w.cfg.Database, idSetPrefix, int64(idSetMaxAge/time.Second))
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			stale = append(stale, name)
		}
	}
	rows.Close()
	for _, name := range stale {
		w.dropSet(ctx, w.ddl.qualified(name))
	}
}

// unqualified is the table name of `db`.`name`, as a mutation's command
// shows it (db.name, unquoted when plain).
func unqualified(qualified string) string {
	_, name, _ := strings.Cut(qualified, "`.`")
	return strings.TrimSuffix(name, "`")
}

// where is the predicate matching the subjects' rows of a table (with
// previousID, an alias's previous_id too); shown is the same with the ids
// elided to their count, for receipts.
func (s *subjects) where(previousID bool) (where, shown string) {
	var terms, shownTerms []string
	add := func(col, operand string, n int) {
		if operand == "" {
			return
		}
		terms = append(terms, col+" IN "+operand)
		shownTerms = append(shownTerms, fmt.Sprintf("%s IN (<%d ids>)", col, n))
	}
	add("user_id", s.users, s.nUsers)
	add("anonymous_id", s.anons, s.nAnons)
	if previousID {
		add("previous_id", s.users, s.nUsers)
		add("previous_id", s.anons, s.nAnons)
	}
	ws := "workspace = " + quoteString(s.workspace)
	return ws + " AND (" + strings.Join(terms, " OR ") + ")", ws + " AND (" + strings.Join(shownTerms, " OR ") + ")"
}

// settings are the statement settings a predicate needs: a larger
// max_query_size for literal id lists (5,000 ids exceed the 256 KiB
// default).
func (s *subjects) settings(where string) ch.Settings { return bigQuery(where) }
