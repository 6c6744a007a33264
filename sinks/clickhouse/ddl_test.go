package clickhouse

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
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

func TestCoreDDLGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		cfg  Config
	}{
		{"core.sql", Config{}},
		{"core-string-columns.sql", Config{JSONColumns: JSONString}},
		{"core-cluster.sql", Config{Cluster: "analytics"}},
	} {
		d := newDDL(tc.cfg.WithDefaults())
		stmts := []string{d.createDatabase()}
		for _, tb := range coreTables {
			stmts = append(stmts, d.createTable(tb))
		}
		golden(t, tc.file, strings.Join(stmts, ";\n\n")+";\n")
	}
}

func TestTypedDDLGolden(t *testing.T) {
	d := newDDL(Config{}.WithDefaults())
	v1 := loadPlan(t, "shop-v1").Lookup(plan.Track, "Order Completed", 1)
	v2 := loadPlan(t, "shop-v2").Lookup(plan.Track, "Order Completed", 1)
	def := typedTableDef(TypedTableName(v1.Event), v1.Event, columnsOf(typedColumns(v1)))
	// The columns a table made from v1 has, as system.columns would say.
	have := map[string]string{}
	for _, c := range def.columns {
		have[c.name] = normType(c.typ)
	}
	alter := d.addColumns(def.name, missingColumns(have, columnsOf(typedColumns(v2))))
	golden(t, "track_order_completed.sql", d.createTable(def)+";\n\n-- plan shop v2 adds:\n"+alter+";\n")
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
