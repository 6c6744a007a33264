package regulator

import (
	"context"
	"fmt"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// countBefore counts, once per regulation, its rows in every ClickHouse
// table before anything is deleted: the "before" half of its receipt.
func (r *runner) countBefore(ctx context.Context, regs []*Regulation) error {
	if r.cfg.Warehouse == nil {
		return nil
	}
	var todo []*Regulation
	for _, g := range regs {
		if st := g.step(StepClickHouse); st != nil && st.Status != Finished && st.Receipt == nil {
			todo = append(todo, g)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	counts, err := r.countPer(ctx, todo)
	if err != nil {
		return err
	}
	for i, g := range todo {
		st := g.step(StepClickHouse)
		st.Status = Running
		st.Receipt = &Receipt{At: time.Now().UTC(), Tables: counts[i]}
		var n int64
		for _, t := range counts[i] {
			n += t.RowsBefore
		}
		st.Receipt.RowsBefore = &n
	}
	return r.saveAll(ctx, todo)
}

// countPer counts each regulation's rows per table (as RowsBefore), for
// the whole batch in one pass over the tables.
func (r *runner) countPer(ctx context.Context, regs []*Regulation) ([][]TableRows, error) {
	reqs := make([]sinks.DeleteRequest, len(regs))
	for i, g := range regs {
		reqs[i] = r.union([]*Regulation{g})
	}
	tables, rows, err := r.cfg.Warehouse.CountSubjects(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([][]TableRows, len(regs))
	for i := range regs {
		for j, name := range tables {
			out[i] = append(out[i], TableRows{Table: name, RowsBefore: int64(rows[i][j])})
		}
	}
	return out, nil
}

// verify counts the rows left of each regulation whose internal deletions
// are done; rows left are deleted through the Warehouse and counted again.
// A regulation is finished in ClickHouse only at zero rows in every table,
// counted in every part, masked by a lightweight delete or not
// (Warehouse.CountSubjects): no query returns one, whatever its settings.
// It then starts the regulation's purge record (purge.go).
func (r *runner) verify(ctx context.Context, regs []*Regulation) error {
	if r.cfg.Warehouse == nil {
		return nil
	}
	var todo []*Regulation
	for _, g := range regs {
		if st := g.step(StepClickHouse); st != nil && st.Status != Finished && internalDone(g, r.cfg.Destinations) {
			todo = append(todo, g)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	after, err := r.countPer(ctx, todo)
	if err != nil {
		return err
	}
	left := int64(0)
	for i := range todo {
		for _, t := range after[i] {
			left += t.RowsBefore
		}
	}
	if left > 0 {
		// Rows the destinations' deletes did not reach (or no internal
		// destination deletes): sluice's own tables are the regulator's to clean.
		if _, err := r.cfg.Warehouse.Delete(ctx, r.union(todo)); err != nil {
			return fmt.Errorf("%d rows left in ClickHouse; deleting them: %w", left, err)
		}
		if after, err = r.countPer(ctx, todo); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	var failed error
	for i, g := range todo {
		st := g.step(StepClickHouse)
		if st.Receipt == nil {
			st.Receipt = &Receipt{}
		}
		before := map[string]int64{}
		for _, t := range st.Receipt.Tables {
			before[t.Table] = t.RowsBefore
		}
		var tables []TableRows
		var nb, na int64
		for _, t := range after[i] {
			tables = append(tables, TableRows{Table: t.Table, RowsBefore: before[t.Table], RowsAfter: t.RowsBefore})
			nb += before[t.Table]
			na += t.RowsBefore
		}
		st.Receipt.At, st.Receipt.Tables, st.Receipt.RowsBefore, st.Receipt.RowsAfter = now, tables, &nb, &na
		st.Receipt.Statements = []string{"SELECT count() per table WHERE workspace = … AND (user_id IN (…) OR anonymous_id IN (…) OR previous_id IN (…)) SETTINGS apply_deleted_mask = 0"}
		if na > 0 {
			failed = fmt.Errorf("verification: %d rows of regulation %s are still in ClickHouse", na, g.ID)
			continue
		}
		st.Status, st.Error, st.FinishedAt = Finished, "", &now
		r.startPurge(g, now)
	}
	return failed
}

// internalDone reports whether every internal destination of g is done.
func internalDone(g *Regulation, dests []Destination) bool {
	for _, d := range dests {
		if ds := g.destination(d.Name); d.Internal && ds != nil && !ds.Status.Terminal() {
			return false
		}
	}
	return true
}
