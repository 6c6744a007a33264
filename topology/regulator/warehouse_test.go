package regulator

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// The regulator counts every regulation of a batch in one pass and gives
// each its own rows: a row of two regulations counts for both, an alias
// counts for the id it merged (previous_id), and other workspaces' rows for
// none. The delete receipt carries the same counts.
func TestCountsPerRegulationAndReceipt(t *testing.T) {
	srv, conn, db := newWarehouse(t)
	insertRows(t, conn, []string{"u1", "u2", "u3", "o'brien"}, 3, map[string]string{"a1": "u1", "a9": ""})
	for _, q := range []string{
		`CREATE TABLE aliases (message_id String, workspace LowCardinality(String), user_id String, anonymous_id String, previous_id String)
			ENGINE = MergeTree ORDER BY message_id`,
		`INSERT INTO aliases VALUES ('m1', 'acme', 'u7', 'a7', 'a1'), ('m2', 'globex', 'u1', '', '')`,
		`INSERT INTO tracks VALUES ('g1', 'globex', 'u1', '', 'Clicked', now64(3))`,
	} {
		if err := conn.Exec(t.Context(), q); err != nil {
			t.Fatal(err)
		}
	}
	wh := openWarehouse(t, srv.Addr(), db)
	r := &runner{Service: &Service{cfg: Config{Workspace: testWorkspace, Warehouse: wh}}}
	regs := []*Regulation{
		{Request: Request{SubjectType: UserID, SubjectIDs: []string{"u1"}},
			Progress: Progress{Linked: []LinkedIDs{{UserID: "u1", AnonymousIDs: []string{"a1"}}}}},
		{Request: Request{SubjectType: UserID, SubjectIDs: []string{"u1", "o'brien"}}},
		{Request: Request{SubjectType: AnonymousID, SubjectIDs: []string{"a1"}}},
	}
	counts, err := r.countPer(t.Context(), regs)
	if err != nil {
		t.Fatal(err)
	}
	render := func(rows []TableRows) string {
		s := ""
		for _, tr := range rows {
			s += fmt.Sprintf("%s=%d ", tr.Table, tr.RowsBefore)
		}
		return s
	}
	for i, want := range []string{
		"aliases=1 pages=1 tracks=4 users=1 ", // u1: 3 tracks, a page, a user; a1: a track and the alias from it
		"aliases=0 pages=2 tracks=6 users=2 ", // u1 and o'brien
		"aliases=1 pages=0 tracks=1 users=0 ", // a1
	} {
		if got := render(counts[i]); got != want {
			t.Errorf("regulation %d: %s, want %s", i, got, want)
		}
	}

	req := r.union(regs)
	rc, err := wh.Delete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got := receiptOf(rc)
	// u1 (5), o'brien (5), a1's track and alias (2).
	// Per table: the purge settings, the DELETE, the rewrite of its parts.
	if *got.RowsBefore != 12 || *got.RowsAfter != 0 || len(rc.Statements) != 3*4 {
		t.Fatalf("receipt rows %d → %d, want 12 → 0, and 12 statements: %+v", *got.RowsBefore, *got.RowsAfter, rc)
	}
	if n := rowsOf(t, conn, "tracks", "user_id", "u1"); n != 1 {
		t.Errorf("u1 has %d tracks, want globex's 1", n)
	}
	if n := rowsOf(t, conn, "tracks", "anonymous_id", "a9"); n != 1 {
		t.Errorf("a9 has %d tracks, want 1 (untouched)", n)
	}
	if n := rowsOf(t, conn, "tracks", "user_id", "u2"); n != 3 {
		t.Errorf("u2 has %d tracks, want 3 (untouched)", n)
	}
	after, err := r.countPer(t.Context(), regs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range regs {
		if s := render(after[i]); s != "aliases=0 pages=0 tracks=0 users=0 " {
			t.Errorf("regulation %d after the delete: %s", i, s)
		}
	}
}

// The warehouse the regulator is given is the ClickHouse destination's:
// opened from its settings without a server up, it waits for one.
func TestWarehouseOpensWithoutServer(t *testing.T) {
	wh := openWarehouse(t, "127.0.0.1:1", "sluice")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	_, err := wh.Delete(ctx, sinks.DeleteRequest{Workspace: testWorkspace, UserIDs: []string{"u1"}})
	if err == nil || classify(t.Context(), err) != classRetry {
		t.Fatalf("delete with no server: %v, want a retried error", err)
	}
}
