package regulator

import (
	"encoding/json"
	"testing"

	"github.com/sluicehq/sluice/sinks"
)

func TestWarehouseDeleteCountsAndLeavesOthers(t *testing.T) {
	_, conn, db := newWarehouse(t)
	insertRows(t, conn, []string{"u1", "u2", "u3", "o'brien"}, 3, map[string]string{"a1": "u1", "a9": ""})
	w := NewWarehouse(conn, db)
	ctx := t.Context()

	ts, err := w.tables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tb := range ts {
		names = append(names, tb.name)
	}
	// users is a ReplacingMergeTree with user_id; unrelated has no user_id.
	if want := []string{"pages", "tracks", "users"}; !equalStrings(names, want) {
		t.Fatalf("tables = %v, want %v", names, want)
	}

	counts, _, err := w.countSubjects(ctx, testWorkspace, []string{"u1", "o'brien"}, []string{"a1"})
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, c := range counts {
		total += c.rows
	}
	// u1: 3 tracks + 1 page + 1 user; o'brien the same; a1: 1 track.
	if total != 11 {
		t.Fatalf("countSubjects total = %d (%+v), want 11", total, counts)
	}

	rc, err := w.Delete(ctx, sinks.DeleteRequest{Workspace: testWorkspace, UserIDs: []string{"u1", "o'brien"}, AnonymousIDs: []string{"a1"}})
	if err != nil {
		t.Fatal(err)
	}
	got := receiptOf(rc)
	if *got.RowsBefore != 11 || *got.RowsAfter != 0 || len(rc.Statements) != 3 {
		t.Fatalf("receipt rows %d → %d, want 11 → 0, and 3 statements: %+v", *got.RowsBefore, *got.RowsAfter, rc)
	}
	for _, id := range []string{"u1", "o'brien"} {
		if n := rowsOf(t, conn, "tracks", "user_id", id); n != 0 {
			t.Errorf("%s still has %d tracks", id, n)
		}
	}
	if n := rowsOf(t, conn, "tracks", "anonymous_id", "a1"); n != 0 {
		t.Errorf("a1 still has %d tracks", n)
	}
	if n := rowsOf(t, conn, "tracks", "anonymous_id", "a9"); n != 1 {
		t.Errorf("a9 has %d tracks, want 1", n)
	}
	for _, id := range []string{"u2", "u3"} {
		if n := rowsOf(t, conn, "tracks", "user_id", id); n != 3 {
			t.Errorf("%s has %d tracks, want 3 (untouched)", id, n)
		}
	}

	var rows []json.RawMessage
	err = w.export(ctx, ts, testWorkspace, []string{"u2"}, nil, func(tb table, row json.RawMessage) error {
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("export of u2: %d rows, want 5: %s", len(rows), rows)
	}
	var first map[string]any
	if err := json.Unmarshal(rows[0], &first); err != nil || first["user_id"] != "u2" {
		t.Fatalf("export row %s: %v", rows[0], err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
