package clickhouse

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// golden compares got with testdata/ddl/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "ddl", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", path, got)
	}
}

func loadPlan(t testing.TB, dir string) *plan.Plan {
	t.Helper()
	p, err := plan.CheckDir(filepath.Join("testdata", "plans", dir))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// layouts are the ways a database's tables are laid out, by golden-file
// suffix: one server, a cluster of one shard (replicated tables), a cluster
// of several shards (local tables behind Distributed ones).
var layouts = []struct {
	suffix string
	ddl    func(Config) ddl
}{
	{"", func(c Config) ddl { return newDDL(c.WithDefaults()) }},
	{"-cluster", func(c Config) ddl { c.Cluster = "analytics"; return newDDL(c.WithDefaults()) }},
	{"-sharded", func(c Config) ddl {
		c.Cluster = "analytics"
		d := newDDL(c.WithDefaults())
		d.sharded = true
		return d
	}},
}

// joinStatements renders statements as a SQL script.
func joinStatements(stmts []string) string { return strings.Join(stmts, ";\n\n") + ";\n" }

func TestCoreDDLGolden(t *testing.T) {
	for _, l := range layouts {
		d := l.ddl(Config{})
		stmts := []string{d.createDatabase()}
		for _, tb := range coreTables {
			stmts = append(stmts, d.createStatements(tb)...)
		}
		golden(t, "core"+l.suffix+".sql", joinStatements(stmts))
	}
	d := newDDL(Config{JSONColumns: JSONString}.WithDefaults())
	stmts := []string{d.createDatabase()}
	for _, tb := range coreTables {
		stmts = append(stmts, d.createStatements(tb)...)
	}
	golden(t, "core-string-columns.sql", joinStatements(stmts))
}

// TestMigrateContextDDLGolden is what retypes the context columns of a
// database an older sluice made (String typed paths).
func TestMigrateContextDDLGolden(t *testing.T) {
	for _, l := range layouts {
		d := l.ddl(Config{})
		var stmts []string
		for _, tb := range coreTables {
			if slices.Contains(tb.columns, colContext) {
				stmts = append(stmts, d.modifyColumnStatements(tb.name, []column{colContext})...)
			}
		}
		golden(t, "migrate-context"+l.suffix+".sql", joinStatements(stmts))
	}
}

// typedDDL renders the typed table of Order Completed as plan shop v1 makes
// it, then the columns plan shop v2 adds.
func typedDDL(t *testing.T, d ddl) string {
	v1 := loadPlan(t, "shop-v1").Lookup(plan.Track, "Order Completed", 1)
	v2 := loadPlan(t, "shop-v2").Lookup(plan.Track, "Order Completed", 1)
	def := typedTableDef(TypedTableName(v1.Event), v1.Event, columnsOf(typedColumns(v1)))
	// The columns a table made from v1 has, as system.columns would say.
	have := map[string]string{}
	for _, c := range def.columns {
		have[c.name] = normType(c.typ)
	}
	alter := d.addColumnStatements(def.name, missingColumns(have, columnsOf(typedColumns(v2))))
	return joinStatements(d.createStatements(def)) + "\n-- plan shop v2 adds:\n" + joinStatements(alter)
}

func TestTypedDDLGolden(t *testing.T) {
	for _, l := range layouts {
		golden(t, "track_order_completed"+l.suffix+".sql", typedDDL(t, l.ddl(Config{})))
	}
}

// A sharded JSON text column gets its codec on the local tables only: the
// Distributed table stores nothing.
func TestShardedAddColumnCodec(t *testing.T) {
	d := layouts[2].ddl(Config{JSONColumns: JSONString})
	stmts := d.addColumnStatements(tableTracks, []column{colProperties})
	if len(stmts) != 2 || !strings.Contains(stmts[0], "`local_tracks`") || !strings.Contains(stmts[0], "CODEC(ZSTD(1))") ||
		strings.Contains(stmts[1], "local_") || strings.Contains(stmts[1], "CODEC") {
		t.Fatalf("%q", stmts)
	}
}

// TestDeleteStatementsGolden renders a delete of two users and an
// anonymousId from tracks, aliases and a typed table, per layout: the
// statements Warehouse.Delete runs (ids elided as in receipts; on one
// server they name Set tables, on a cluster they are literals), with rows
// found in partition 202601 on one server.
func TestDeleteStatementsGolden(t *testing.T) {
	req := sinks.DeleteRequest{Workspace: "acme", UserIDs: []string{"u1", "u2"}, AnonymousIDs: []string{"a1"}}
	for _, l := range layouts {
		d := l.ddl(Config{})
		var all []tableInfo
		for _, tb := range []*table{coreTable(tableTracks), coreTable(tableAliases), typedTableDef("track_order_completed", "Order Completed", nil)} {
			engine, _, _ := strings.Cut(d.engine(tb), "(") // as system.tables names it
			info := tableInfo{name: d.storage(tb.name), engine: engine}
			for _, c := range tb.columns {
				info.columns = append(info.columns, c.name)
			}
			all = append(all, info)
			if d.sharded {
				all = append(all, tableInfo{name: tb.name, engine: "Distributed", columns: info.columns})
			}
		}
		var stmts []string
		for _, st := range subjectTables(all) {
			_, shown := subjectPredicate(req, st.previousID)
			var parts []string
			if d.cluster == "" {
				parts = []string{"202601"}
			}
			e := d.erasure(st, DefaultPurgeWithin, parts)
			stmts = append(stmts, d.heldQuery(st, shown)+" -- SETTINGS apply_deleted_mask = 0")
			stmts = append(stmts, e.settings, e.deleteFrom+shown, e.rewrite)
			stmts = append(stmts, d.heldQuery(st, shown)+" -- SETTINGS apply_deleted_mask = 0")
		}
		golden(t, "delete"+l.suffix+".sql", joinStatements(stmts))
	}
}

func columnsOf(tcs []typedColumn) []column {
	out := make([]column, len(tcs))
	for i := range tcs {
		out[i] = tcs[i].column
	}
	return out
}

func TestTypedTableName(t *testing.T) {
	for in, want := range map[string]string{
		"Order Completed":      "track_order_completed",
		"order_completed":      "track_order_completed",
		"  Sign-Up / Started!": "track_sign_up_started",
		"Ünïcode 2":            "track_n_code_2",
		"!!!":                  "track_unnamed",
		"":                     "track_unnamed",
	} {
		if got := TypedTableName(in); got != want {
			t.Errorf("TypedTableName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSameType(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		same       bool
	}{
		{"Nullable(String)", "LowCardinality(Nullable(String))", true},
		{"LowCardinality(String)", "String", true},
		{"DateTime64(3, 'UTC')", "DateTime64(3, 'UTC') DEFAULT now64(3)", true},
		{"String", "String CODEC(ZSTD(1))", true},
		{"Nullable(Int64)", "Nullable(Float64)", false},
		{"Nullable(Decimal(10, 2))", "Nullable(Decimal(12, 2))", false},
		{"Array(String)", "Array(Int64)", false},
	} {
		if got := sameType(tc.have, tc.want); got != tc.same {
			t.Errorf("sameType(%q, %q) = %v", tc.have, tc.want, got)
		}
	}
}
