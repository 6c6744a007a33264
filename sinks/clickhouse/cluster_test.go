package clickhouse

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
)

// The local engine has no cluster: it cannot run ON CLUSTER statements,
// Replicated engines or Distributed tables. Its parser still reads every
// statement the cluster layouts run (formatQuery), which catches a clause
// out of place; the golden files show what they do.
func TestClusterStatementsParse(t *testing.T) {
	d := newDest(t)
	v2 := loadPlan(t, "shop-v2").Lookup(plan.Track, "Order Completed", 1)
	typed := typedTableDef(TypedTableName(v2.Event), v2.Event, columnsOf(typedColumns(v2)))
	req := sinks.DeleteRequest{Workspace: "acme", UserIDs: []string{"u1", "o'brien"}, AnonymousIDs: []string{"a1"}}
	var stmts []string
	for _, l := range layouts[1:] {
		for _, mode := range []string{JSONType, JSONString} {
			dd := l.ddl(Config{JSONColumns: mode})
			stmts = append(stmts, dd.createDatabase())
			for _, tb := range append(coreTables, typed) {
				stmts = append(stmts, dd.createStatements(tb)...)
				stmts = append(stmts, dd.addColumnStatements(tb.name, tb.columns[len(tb.columns)-2:])...)
				st := subjectTable{name: dd.storage(tb.name), read: tb.name, previousID: tb.name == tableAliases}
				where, _ := subjectPredicate(req, st.previousID)
				e := dd.erasure(st, DefaultPurgeWithin, nil)
				stmts = append(stmts, e.settings, e.deleteFrom+where, e.rewrite)
				stmts = append(stmts, dd.heldQuery(st, where))
			}
		}
	}
	for _, stmt := range stmts {
		var formatted string
		if err := d.conn.QueryRow(t.Context(), "SELECT formatQuery(?)", stmt).Scan(&formatted); err != nil {
			t.Errorf("%s\n%v", firstLine(stmt), err)
		}
	}
	t.Logf("%d statements parsed", len(stmts))
}

// With a cluster the server does not list, the sink refuses to open rather
// than guess its layout.
func TestOpenRefusesAnUnknownCluster(t *testing.T) {
	d := newDest(t, func(c *Config) { c.Cluster = "analytics" })
	_, err := Open(t.Context(), d.config())
	if err == nil || !strings.Contains(err.Error(), "system.clusters") {
		t.Fatalf("Open with an unknown cluster: %v", err)
	}
}

// A database keeps the layout its tables were made with; a new one is
// sharded when the cluster has several shards.
func TestShardedLayoutDecision(t *testing.T) {
	some := map[string]string{"user_id": "String"}
	for _, tc := range []struct {
		cluster string
		tables  []string
		shards  int
		want    bool
	}{
		{"", nil, 0, false},
		{"analytics", nil, 1, false},
		{"analytics", nil, 3, true},
		{"analytics", []string{"tracks"}, 3, false},                // made for one shard
		{"analytics", []string{"tracks", "local_tracks"}, 1, true}, // made sharded
		{"analytics", []string{"local_tracks"}, 3, true},           // Distributed not made yet
	} {
		cfg := Config{Cluster: tc.cluster}.WithDefaults()
		c := &catalog{ddl: newDDL(cfg), cfg: &cfg, tables: map[string]map[string]string{}}
		for _, name := range tc.tables {
			c.tables[name] = some
		}
		if got := c.sharded(tc.shards); got != tc.want {
			t.Errorf("cluster %q, tables %v, %d shards: sharded %v", tc.cluster, tc.tables, tc.shards, got)
		}
	}
}
