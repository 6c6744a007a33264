package clickhouse

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

// fidelityEvents are a track whose context leaves out most typed paths and
// sends ip as "" and app.name as null, and whose properties hold a dotted
// key beside the nested object of the same path; and a track with a full
// context.
func fidelityEvents(tag string) []schemas.Event {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ev := func(id, context, props string) schemas.Event {
		return schemas.Event{Type: schemas.Track, MessageID: tag + "-" + id, Workspace: sinktest.Workspace, Source: "web",
			UserID: "user-1", Event: "Checkout", Timestamp: now, ReceivedAt: now,
			Context: json.RawMessage(context), Properties: json.RawMessage(props)}
	}
	return []schemas.Event{
		ev("sparse", `{"library":{"name":"analytics-go"},"ip":"","app":{"name":null}}`,
			`{"a.b":1,"a":{"b":2},"page.url":"p","utm":{"source.x":"s"}}`),
		ev("full", `{"library":{"name":"analytics.js","version":"1"},"ip":"203.0.113.9","app":{"name":"shop"},"os":{"name":"iOS"}}`,
			`{"a":{"b":3}}`),
	}
}

// Absent context paths read NULL, sent-empty ones "", and dotted property
// keys keep their values beside the nested ones, through both insert paths
// (the sink's own Native blocks, and JSON text through clickhouse-go).
func TestWarehouseFidelity(t *testing.T) {
	for _, native := range []bool{true, false} {
		t.Run(fmt.Sprint("native=", native), func(t *testing.T) {
			d := newDest(t)
			s := d.open(t)
			s.noNative = !native
			if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, fidelityEvents("f"))); err != nil {
				t.Fatal(err)
			}
			q := func(sql string) []string {
				return d.strings(t, "SELECT "+sql+" FROM "+quoteIdent(d.db)+".tracks ORDER BY message_id")
			}
			// Rows in message_id order: f-full, f-sparse.
			for expr, want := range map[string][]string{
				"ifNull(context.ip, 'NULL')":                                    {"203.0.113.9", ""},
				"ifNull(context.app.name, 'NULL')":                              {"shop", "NULL"},
				"ifNull(context.os.name, 'NULL')":                               {"iOS", "NULL"},
				"ifNull(context.device.id, 'NULL')":                             {"NULL", "NULL"},
				"ifNull(context.library.version, 'NULL')":                       {"1", "NULL"},
				"ifNull(properties.`a%2Eb`::Nullable(String), 'NULL')":          {"NULL", "1"},
				"ifNull(properties.a.b::Nullable(String), 'NULL')":              {"3", "2"},
				"ifNull(properties.`page%2Eurl`::Nullable(String), 'NULL')":     {"NULL", "p"},
				"ifNull(properties.utm.`source%2Ex`::Nullable(String), 'NULL')": {"NULL", "s"},
				"toTypeName(context.app.name)":                                  {"Nullable(String)", "Nullable(String)"},
			} {
				if got := q(expr); !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", expr, got, want)
				}
			}
			// Read back as text with the setting, the dotted key is whole again.
			ctx := ch.Context(t.Context(), ch.WithSettings(ch.Settings{"json_type_escape_dots_in_keys": 1}))
			var props string
			if err := d.conn.QueryRow(ctx, "SELECT toJSONString(properties) FROM "+quoteIdent(d.db)+".tracks WHERE message_id = 'f-sparse'").Scan(&props); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(props), &got); err != nil {
				t.Fatal(err)
			}
			if got["a.b"] != "1" && got["a.b"] != float64(1) || fmt.Sprint(got["a"]) != "map[b:2]" {
				t.Errorf("properties read back as %s", props)
			}
			// An export of the subject gives the keys with their dots.
			var rows []string
			err := d.openWarehouse(t).Export(t.Context(), sinks.DeleteRequest{Workspace: sinktest.Workspace, UserIDs: []string{"user-1"}},
				func(table string, row json.RawMessage) error {
					if table == tableTracks {
						rows = append(rows, string(row))
					}
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || !strings.Contains(strings.Join(rows, "\n"), `"a.b":`) {
				t.Errorf("export of tracks: %s", rows)
			}
		})
	}
}

// legacyContext is the context column an older sluice made: String typed
// paths, absent fields read "".
var legacyContext = strings.ReplaceAll(contextJSON, "Nullable(String)", "String")

// A database made by an older sluice is migrated when the sink opens: the
// context columns are retyped in place (rows already stored keep their ""),
// new rows get NULL, and opening again changes nothing.
func TestMigratesLegacyContextColumns(t *testing.T) {
	d := newDest(t)
	d.open(t).Close(t.Context())
	contextTables := []string{tableTracks, tableIdentifies, tablePages, tableScreens, tableGroups, tableAliases}
	for _, tb := range contextTables {
		d.exec(t, "ALTER TABLE "+quoteIdent(d.db)+"."+quoteIdent(tb)+" MODIFY COLUMN context "+legacyContext)
	}
	// A row an older sluice wrote.
	d.exec(t, "INSERT INTO "+quoteIdent(d.db)+".tracks (message_id, workspace, user_id, event, timestamp, received_at, context, properties) "+
		"FORMAT JSONEachRow "+`{"message_id":"old-row","workspace":"acme","user_id":"user-1","event":"E","timestamp":"2026-05-01 00:00:00","received_at":"2026-05-01 00:00:00","context":{"library":{"name":"old"}},"properties":{}}`)

	s := d.open(t)
	var modified []string
	for _, stmt := range s.DDLStatements() {
		if strings.Contains(stmt, "MODIFY COLUMN") {
			modified = append(modified, stmt)
		}
	}
	if len(modified) != len(contextTables) {
		t.Fatalf("%d MODIFY COLUMN statements, want one per table with context:\n%s", len(modified), strings.Join(modified, "\n"))
	}
	for _, tb := range contextTables {
		typ := d.strings(t, "SELECT type FROM system.columns WHERE database = ? AND table = ? AND name = 'context'", d.db, tb)
		if len(typ) != 1 || !sameTypedPaths(typ[0], contextJSON) {
			t.Errorf("%s.context is %v after the migration", tb, typ)
		}
	}
	if err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, fidelityEvents("new"))); err != nil {
		t.Fatal(err)
	}
	got := d.strings(t, "SELECT message_id || ':' || if(context.ip IS NULL, 'null', 'set') || ':' || ifNull(context.ip, '-') FROM "+
		quoteIdent(d.db)+".tracks ORDER BY message_id")
	want := []string{"new-full:set:203.0.113.9", "new-sparse:set:", "old-row:set:"}
	if !slices.Equal(got, want) {
		t.Errorf("rows %q, want %q", got, want)
	}
	if n := d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+".tracks WHERE context.os.name IS NULL"); n != 1 {
		t.Errorf("%d rows with os.name NULL, want 1 (new-sparse; old-row was stored before the migration)", n)
	}
	again := d.open(t)
	for _, stmt := range again.DDLStatements() {
		if strings.HasPrefix(stmt, "ALTER") {
			t.Errorf("opening a migrated database ran %s", firstLine(stmt))
		}
	}
}

func TestSameTypedPaths(t *testing.T) {
	for _, c := range []struct {
		have string
		want bool
	}{
		{"JSON(`app.name` Nullable(String), ip Nullable(String))", true},
		{"JSON(ip Nullable(String), `app.name` Nullable(String), extra Int64, max_dynamic_paths=10)", true},
		{"JSON(`app.name` String, ip Nullable(String))", false},
		{"JSON(ip Nullable(String))", false},
		{"JSON", false},
	} {
		if got := sameTypedPaths(c.have, "JSON(`ip` Nullable(String), `app.name` Nullable(String))"); got != c.want {
			t.Errorf("sameTypedPaths(%s) = %v", c.have, got)
		}
	}
}
