package clickhouse

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

const day = 24 * time.Hour

func TestRetentionTTL(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Retention
		want string
	}{
		{"none", Retention{}, ""},
		{"default only", Retention{Default: 90 * day}, "received_at + toIntervalDay(90)"},
		{"sources only, grouped by retention", Retention{Sources: map[string]time.Duration{"web": 30 * day, "ios": 30 * day, "api": 36 * time.Hour}},
			"received_at + toIntervalHour(36) WHERE source IN ('api'), received_at + toIntervalDay(30) WHERE source IN ('ios', 'web')"},
		{"sources and a default", Retention{Default: 3 * 365 * day, Sources: map[string]time.Duration{"web": 30 * day, "ios": 3 * 365 * day}},
			"received_at + toIntervalDay(30) WHERE source IN ('web'), received_at + toIntervalDay(1095) WHERE source NOT IN ('web')"},
		{"minutes and seconds", Retention{Sources: map[string]time.Duration{"a": 90 * time.Minute, "b": 3601*time.Second + time.Millisecond}},
			"received_at + toIntervalSecond(3601) WHERE source IN ('b'), received_at + toIntervalMinute(90) WHERE source IN ('a')"},
		{"a name to quote", Retention{Sources: map[string]time.Duration{"o'brien": day}}, `received_at + toIntervalDay(1) WHERE source IN ('o\'brien')`},
	} {
		if got := tc.r.ttl(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestTableTTL(t *testing.T) {
	for full, want := range map[string]string{
		"MergeTree PARTITION BY toYYYYMM(received_at) ORDER BY (workspace, user_id) SETTINGS index_granularity = 8192": "",
		"MergeTree ORDER BY x TTL received_at + toIntervalDay(30) WHERE source IN ('web') SETTINGS a = 1":              "received_at + toIntervalDay(30) WHERE source IN ('web')",
		"MergeTree ORDER BY x TTL received_at + toIntervalDay(30)":                                                     "received_at + toIntervalDay(30)",
	} {
		if got := tableTTL(full); got != want {
			t.Errorf("tableTTL(%q) = %q, want %q", full, got, want)
		}
	}
}

func TestRetentionValidate(t *testing.T) {
	for _, r := range []Retention{{Default: -day}, {Default: time.Millisecond}, {Sources: map[string]time.Duration{"web": 0}}} {
		if err := (Config{Retention: r}).WithDefaults().Validate(); err == nil || !strings.Contains(err.Error(), "clickhouse: retention") {
			t.Errorf("%+v: %v, want a retention error", r, err)
		}
	}
}

// goldenRetention is the retention of the golden files: web 30 days, api
// 36 hours, every other source 90 days.
var goldenRetention = Retention{Default: 90 * day, Sources: map[string]time.Duration{"web": 30 * day, "api": 36 * time.Hour}}

// TestRetentionDDLGolden renders, per layout, tables created with a
// retention (an event table, users, a typed table), then what brings a
// table in line when the retention changes, and when it is removed.
func TestRetentionDDLGolden(t *testing.T) {
	for _, l := range layouts {
		d := l.ddl(Config{Retention: goldenRetention})
		var stmts []string
		for _, tb := range []*table{coreTable(tableTracks), coreTable(tableUsers), typedTableDef("track_order_completed", "Order Completed", nil)} {
			stmts = append(stmts, d.createStatements(tb)...)
		}
		stmts = append(stmts, d.ttlStatement(d.storage(tableTracks)))
		d.ttl = ""
		stmts = append(stmts, d.ttlStatement(d.storage(tableTracks)))
		golden(t, "retention"+l.suffix+".sql", joinStatements(stmts))
	}
}

// agedEvents are a track and an identify of source src received age ago.
func agedEvents(src string, age time.Duration) []schemas.Event {
	at := time.Now().UTC().Add(-age).Truncate(time.Millisecond)
	id := src + "-" + strings.TrimSuffix((age/day*day).String(), "0m0s")
	return []schemas.Event{
		{Type: schemas.Track, MessageID: id + "-track", Workspace: sinktest.Workspace, Source: src, UserID: id,
			Event: "Checkout", Timestamp: at, ReceivedAt: at, Context: json.RawMessage(`{}`), Properties: json.RawMessage(`{}`)},
		{Type: schemas.Identify, MessageID: id + "-identify", Workspace: sinktest.Workspace, Source: src, UserID: id,
			Timestamp: at, ReceivedAt: at, Context: json.RawMessage(`{}`), Traits: json.RawMessage(`{}`)},
	}
}

// retentionEvents are rows of web 40 and 10 days old, and of ios 40 days old.
func retentionEvents() []schemas.Event {
	return slices.Concat(agedEvents("web", 40*day), agedEvents("web", 10*day), agedEvents("ios", 40*day))
}

// users lists, per table, the users whose rows it holds.
func (d *chDest) users(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tb := range []string{tableTracks, tableIdentifies, tableUsers} {
		out[tb] = d.strings(t, "SELECT user_id FROM "+quoteIdent(d.db)+"."+quoteIdent(tb)+" ORDER BY user_id")
	}
	return out
}

// waitGone polls until no table holds a row of user. Nothing but
// ClickHouse's own background work removes them: a TTL merge, or the
// mutation a MODIFY TTL starts.
func (d *chDest) waitGone(t *testing.T, user string) {
	t.Helper()
	for {
		held := uint64(0)
		for _, tb := range []string{tableTracks, tableIdentifies, tableUsers} {
			held += d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+"."+quoteIdent(tb)+" WHERE user_id = ?", user)
		}
		if held == 0 {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("%d rows of %s still held", held, user)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// wantKept checks, after merges that apply every TTL, that each table holds
// the rows of exactly these users.
func (d *chDest) wantKept(t *testing.T, users ...string) {
	t.Helper()
	for _, tb := range []string{tableTracks, tableIdentifies, tableUsers} {
		d.exec(t, "OPTIMIZE TABLE "+quoteIdent(d.db)+"."+quoteIdent(tb)+" FINAL")
	}
	for tb, got := range d.users(t) {
		if !slices.Equal(got, users) {
			t.Errorf("%s holds rows of %q, want %q", tb, got, users)
		}
	}
}

// Tables are created with the retention's TTL. Rows of a 30-day source
// received 40 days ago vanish by ClickHouse's own TTL merge, with no
// statement from sluice or the test; its rows 10 days old and the rows of a
// source without retention stay. (A broken TTL leaves waitGone polling until
// go test's -timeout.)
func TestRetentionExpiresRows(t *testing.T) {
	d := newDest(t, func(c *Config) { c.Retention = Retention{Sources: map[string]time.Duration{"web": 30 * day}} })
	s := d.open(t)
	// Created with the TTL, as ClickHouse spells it back: nothing to align.
	for _, stmt := range s.DDLStatements() {
		if strings.HasPrefix(stmt, "ALTER") {
			t.Fatalf("a new database needed %s", stmt)
		}
	}
	if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, retentionEvents())); err != nil {
		t.Fatal(err)
	}
	d.waitGone(t, "web-960h")
	d.wantKept(t, "ios-960h", "web-240h")
}

// A retention set, changed or removed in the config is brought in line
// when the sink opens: one ALTER per table with source and received_at
// (typed tables included), whose rewrite deletes the rows that expired;
// opening again with the same config runs none.
func TestRetentionAlignedAtOpen(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, retentionEvents())); err != nil {
		t.Fatal(err)
	}
	s.Close(t.Context())
	// A typed table made before the retention.
	d.exec(t, "CREATE TABLE "+quoteIdent(d.db)+".track_checkout AS "+quoteIdent(d.db)+".tracks")

	alters := func(s *Sink) []string {
		var out []string
		for _, stmt := range s.DDLStatements() {
			if strings.HasPrefix(stmt, "ALTER") {
				out = append(out, stmt)
			}
		}
		return out
	}
	wantAlters := func(s *Sink, ttl string) {
		t.Helper()
		d := newDDL(s.cfg)
		var want []string
		for _, tb := range []string{tableAliases, tableGroups, tableIdentifies, tablePages, tableScreens, "track_checkout", tableTracks, tableUsers} {
			want = append(want, d.ttlStatement(tb))
		}
		if got := alters(s); !slices.Equal(got, want) {
			t.Fatalf("ALTER statements at open:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if want[0] != "ALTER TABLE "+quoteIdent(d.database)+".`aliases` "+ttl {
			t.Fatalf("ALTER %q, want %q", want[0], ttl)
		}
	}

	d.cfg = func(c *Config) { c.Retention = Retention{Sources: map[string]time.Duration{"web": 30 * day}} }
	wantAlters(d.open(t), "MODIFY TTL received_at + toIntervalDay(30) WHERE source IN ('web')")
	d.waitGone(t, "web-960h")
	d.wantKept(t, "ios-960h", "web-240h")

	if again := alters(d.open(t)); len(again) != 0 {
		t.Errorf("opening with the same retention ran:\n%s", strings.Join(again, "\n"))
	}

	d.cfg = func(c *Config) {
		c.Retention = Retention{Default: 30 * day, Sources: map[string]time.Duration{"web": 5 * day}}
	}
	wantAlters(d.open(t), "MODIFY TTL received_at + toIntervalDay(5) WHERE source IN ('web'), received_at + toIntervalDay(30) WHERE source NOT IN ('web')")
	d.waitGone(t, "ios-960h")
	d.waitGone(t, "web-240h")

	d.cfg = nil
	wantAlters(d.open(t), "REMOVE TTL")
	engines := d.strings(t, "SELECT engine_full FROM system.tables WHERE database = ?", d.db)
	for _, e := range engines {
		if strings.Contains(e, " TTL ") {
			t.Errorf("a table keeps a TTL after the retention was removed: %s", e)
		}
	}
}

// The local engine cannot run ON CLUSTER statements; its parser still reads
// the retention DDL of the cluster layouts (see TestClusterStatementsParse).
func TestRetentionClusterStatementsParse(t *testing.T) {
	d := newDest(t)
	for _, l := range layouts[1:] {
		dd := l.ddl(Config{Retention: goldenRetention})
		stmts := slices.Concat(dd.createStatements(coreTable(tableTracks)), dd.createStatements(coreTable(tableUsers)))
		stmts = append(stmts, dd.ttlStatement(dd.storage(tableTracks)))
		dd.ttl = ""
		stmts = append(stmts, dd.ttlStatement(dd.storage(tableTracks)))
		for _, stmt := range stmts {
			var formatted string
			if err := d.conn.QueryRow(t.Context(), "SELECT formatQuery(?)", stmt).Scan(&formatted); err != nil {
				t.Errorf("%s\n%v", firstLine(stmt), err)
			}
		}
	}
}
