package clickhouse

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

// openWarehouse opens the destination's Warehouse as the regulator does:
// from the same Config, without the sink.
func (d *chDest) openWarehouse(t *testing.T) *Warehouse {
	t.Helper()
	w, err := OpenWarehouse(d.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// aliasOf is an alias call merging previous into user.
func aliasOf(id, user, anon, previous string) schemas.Event {
	return schemas.Event{Type: schemas.Alias, MessageID: id, Workspace: sinktest.Workspace, Source: "web",
		UserID: user, AnonymousID: anon, PreviousID: previous, Timestamp: time.Now().UTC(), ReceivedAt: time.Now().UTC()}
}

func TestWarehouseCountsExportsAndDeletes(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	events := append(sinktest.Events("wh", 40), aliasOf("merge-1", "user-9", "anon-new", "old-device"))
	if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, events)); err != nil {
		t.Fatal(err)
	}
	w := d.openWarehouse(t)
	ws := sinktest.Workspace
	reqs := []sinks.DeleteRequest{
		{Workspace: ws, UserIDs: []string{"user-1"}, AnonymousIDs: []string{"anon-1"}},
		{Workspace: ws, UserIDs: []string{"user-1", "user-2"}},
		// Only in aliases, and only as previous_id.
		{Workspace: ws, AnonymousIDs: []string{"old-device"}},
	}
	tables, rows, err := w.CountSubjects(t.Context(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{tableAliases, tableTracks, tableUsers} {
		if !slices.Contains(tables, want) {
			t.Errorf("tables %v lack %s", tables, want)
		}
	}
	sum := func(i int) (n uint64) {
		for _, r := range rows[i] {
			n += r
		}
		return n
	}
	for i, req := range reqs[:2] {
		if got, want := sum(i), uint64(d.Remaining(t, req)); got != want {
			t.Errorf("request %d: counted %d rows, the tables hold %d", i, got, want)
		}
	}
	if got := rows[2][slices.Index(tables, tableAliases)]; got != 1 || sum(2) != 1 {
		t.Errorf("old-device: %d rows in aliases, %d in all; want 1 (its alias, by previous_id)", got, sum(2))
	}

	var exported []string
	err = w.Export(t.Context(), reqs[0], func(table string, row json.RawMessage) error {
		var r map[string]any
		if err := json.Unmarshal(row, &r); err != nil {
			return err
		}
		if r["user_id"] != "user-1" && r["anonymous_id"] != "anon-1" {
			t.Errorf("exported a row of someone else from %s: %s", table, row)
		}
		exported = append(exported, table)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(exported)) != sum(0) {
		t.Errorf("exported %d rows, counted %d", len(exported), sum(0))
	}
	cols, err := w.SubjectColumns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"user_id", "previous_id", "traits", "properties"} {
		if !slices.Contains(cols, c) {
			t.Errorf("SubjectColumns %v lack %s", cols, c)
		}
	}

	// The regulator's delete: the receipt's counts are the tables' rows,
	// previous_id's included.
	del := sinks.DeleteRequest{Workspace: ws, UserIDs: []string{"user-1", "user-2"}, AnonymousIDs: []string{"anon-1", "old-device"}}
	_, held, err := w.CountSubjects(t.Context(), []sinks.DeleteRequest{del})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := w.Delete(t.Context(), del)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Tables) != len(tables) {
		t.Fatalf("receipt tables %+v, want %v", rec.Tables, tables)
	}
	for j, tc := range rec.Tables {
		if tc.Table != tables[j] || tc.Before != held[0][j] || tc.After != 0 {
			t.Errorf("receipt %+v, want %s with %d rows before, 0 after", tc, tables[j], held[0][j])
		}
	}
	if _, rows, _ = w.CountSubjects(t.Context(), reqs); sum(0)+sum(1)+sum(2) != 0 {
		t.Errorf("rows left after Delete: %v", rows)
	}
}

// Only MergeTree tables with workspace, user_id and anonymous_id hold
// subjects: views over them and other tables are neither deleted from nor
// counted, and a local_ table without a Distributed table over it is read
// as itself.
func TestWarehouseTablesOnTheEngine(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	q := quoteIdent(d.db) + "."
	d.exec(t, "CREATE TABLE "+q+"local_extra (workspace String, user_id String, anonymous_id String) ENGINE = MergeTree ORDER BY user_id")
	d.exec(t, "CREATE TABLE "+q+"no_subjects (workspace String, user_id String) ENGINE = MergeTree ORDER BY user_id")
	d.exec(t, "CREATE VIEW "+q+"tracks_view AS SELECT workspace, user_id, anonymous_id FROM "+q+"tracks")
	d.exec(t, "INSERT INTO "+q+"local_extra VALUES ('acme', 'user-1', ''), ('globex', 'user-1', '')")
	if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, sinktest.Events("v", 10))); err != nil {
		t.Fatal(err)
	}
	ts, err := s.wh.subjectTables(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, st := range ts {
		names = append(names, st.read)
		if st.read != st.name {
			t.Errorf("%s read through %s", st.name, st.read)
		}
	}
	want := []string{"aliases", "groups", "identifies", "local_extra", "pages", "screens", "tracks", "users"}
	if !slices.Equal(names, want) {
		t.Fatalf("subject tables %v, want %v", names, want)
	}
	rec, err := s.Delete(t.Context(), sinks.DeleteRequest{Workspace: "acme", UserIDs: []string{"user-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := d.count(t, "SELECT count() FROM "+q+"local_extra WHERE user_id = 'user-1'"); n != 1 {
		t.Errorf("local_extra holds %d rows of user-1, want globex's 1", n)
	}
	if len(rec.Tables) != len(want) {
		t.Errorf("receipt tables %+v", rec.Tables)
	}
}

func TestSubjectTablesReadShardedThroughDistributed(t *testing.T) {
	cols := []string{"workspace", "user_id", "anonymous_id", "previous_id"}
	got := subjectTables([]tableInfo{
		{name: "aliases", engine: "Distributed", columns: cols},
		{name: "local_aliases", engine: "ReplicatedMergeTree", columns: cols},
		{name: "local_orphan", engine: "MergeTree", columns: cols[:3]},
		{name: "view", engine: "View", columns: cols},
		{name: "local_view", engine: "MergeTree", columns: cols[:3]},
		{name: "users", engine: "SharedReplacingMergeTree", columns: cols[:3]},
	})
	var rendered []string
	for _, st := range got {
		rendered = append(rendered, st.name+"→"+st.read+" "+strings.Repeat("+previous_id", boolInt(st.previousID)))
	}
	want := []string{"local_aliases→aliases +previous_id", "local_orphan→local_orphan ", "local_view→local_view ", "users→users "}
	if !slices.Equal(rendered, want) {
		t.Fatalf("%q, want %q", rendered, want)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCountSubjectsRefusesMixedWorkspaces(t *testing.T) {
	w := &Warehouse{}
	_, _, err := w.CountSubjects(t.Context(), []sinks.DeleteRequest{
		{Workspace: "acme", UserIDs: []string{"u"}}, {Workspace: "globex", UserIDs: []string{"u"}},
	})
	if err == nil {
		t.Fatal("counted requests of two workspaces")
	}
}
