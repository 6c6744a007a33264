package clickhouse

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

func TestDeleteReceipt(t *testing.T) {
	d := newDest(t, func(c *Config) { c.Plans = shopPlans(t) })
	s := d.open(t)
	events := sinktest.Events("del", 42)
	// user-1 also placed an order, which lands in a typed table.
	order := planned("order-1", "Order Completed", 1, 0, `{"order_id":"o","total":1,"currency":"USD","item_count":1}`)
	order.UserID, order.AnonymousID = "user-1", "anon-1"
	events = append(events, order)
	if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, events)); err != nil {
		t.Fatal(err)
	}
	// 5,000 ids, as the regulator batches them: the statement exceeds the
	// default max_query_size.
	ids := []string{"user-1"}
	for i := range 4999 {
		ids = append(ids, fmt.Sprintf("someone-who-never-came-by-%05d", i))
	}
	req := sinks.DeleteRequest{Workspace: sinktest.Workspace, UserIDs: ids, AnonymousIDs: []string{"anon-2"}}
	before := d.Remaining(t, req)
	rec, err := s.Delete(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Remaining(t, req); n != 0 {
		t.Fatalf("%d rows remain", n)
	}
	var total uint64
	tables := map[string]sinks.TableCount{}
	for _, tc := range rec.Tables {
		total += tc.Before
		tables[tc.Table] = tc
		if tc.After != 0 {
			t.Errorf("receipt: %s after = %d", tc.Table, tc.After)
		}
	}
	if total != uint64(before) {
		t.Errorf("receipt counts %d rows before, the tables held %d", total, before)
	}
	for _, name := range []string{tableTracks, tableIdentifies, tableAliases, tableUsers, "track_order_completed"} {
		if tables[name].Before == 0 {
			t.Errorf("receipt: %s had no rows of the subjects: %+v", name, rec.Tables)
		}
	}
	// Per table with rows: the purge settings, the DELETE, the rewrite.
	if len(rec.Statements) == 0 || len(rec.Statements) > 3*len(rec.Tables) || len(rec.Statements)%3 != 0 {
		t.Fatalf("statements %v for %d tables", rec.Statements, len(rec.Tables))
	}
	for i, st := range rec.Statements {
		var ok bool
		switch i % 3 {
		case 0:
			ok = strings.HasPrefix(st, "ALTER TABLE ") && strings.Contains(st, " MODIFY SETTING old_parts_lifetime = ")
		case 1:
			ok = strings.HasPrefix(st, "DELETE FROM ") && strings.Contains(st, "user_id IN (<5000 ids>) OR anonymous_id IN (<1 ids>)")
		case 2:
			ok = strings.HasPrefix(st, "ALTER TABLE ") && strings.Contains(st, " APPLY DELETED MASK IN PARTITION ID ")
		}
		if !ok {
			t.Errorf("statement %d: %q", i, st)
		}
		if strings.Contains(st, "someone-who") {
			t.Errorf("a receipt statement lists ids: %.80s", st)
		}
	}
	// Other users' rows are untouched.
	var kept int
	for _, e := range events {
		subject := e.UserID == "user-1" || e.AnonymousID == "anon-2" ||
			e.Type == schemas.Alias && (e.PreviousID == "user-1" || e.PreviousID == "anon-2")
		if !subject {
			kept++
		}
	}
	if got := len(d.Delivered(t)); got != kept {
		t.Errorf("%d rows left in the event tables, want %d", got, kept)
	}
	other := sinks.DeleteRequest{Workspace: "another", UserIDs: []string{"user-3"}}
	rec, err = s.Delete(t.Context(), other)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Statements) != 0 {
		t.Errorf("a delete in a workspace with no rows ran %v", rec.Statements)
	}
	if n := d.Remaining(t, sinks.DeleteRequest{Workspace: sinktest.Workspace, UserIDs: []string{"user-3"}}); n == 0 {
		t.Error("deleting user-3 of another workspace deleted acme's user-3")
	}
}
