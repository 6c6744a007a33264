package clickhouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

// shopPlans serves the test shop's plan versions 1 to 3.
func shopPlans(t *testing.T) PlanLookup {
	versions := map[int]*plan.Plan{1: loadPlan(t, "shop-v1"), 2: loadPlan(t, "shop-v2"), 3: loadPlan(t, "shop-v3")}
	return func(name string, version int) *plan.Plan {
		if name != "shop" {
			return nil
		}
		return versions[version]
	}
}

// planned makes a track event judged by plan shop at planVersion.
func planned(id, event string, planVersion, eventVersion int, props string) schemas.Event {
	e := sinktest.Events(id, 1)[0]
	e.Type, e.Event, e.MessageID = schemas.Track, event, id
	prot := fmt.Sprintf(`"plan":"shop","planVersion":%d`, planVersion)
	if eventVersion > 0 {
		prot += fmt.Sprintf(`,"eventVersion":%d`, eventVersion)
	}
	e.Context = json.RawMessage(`{"library":{"name":"test"},"protocols":{` + prot + `}}`)
	e.Properties = json.RawMessage(props)
	return e
}

const fullOrder = `{"order_id":"o-1","total":99.5,"currency":"EUR","coupon":"SPRING","item_count":3,
	"completed_at":"2026-05-01T10:00:00.250Z","shipped_at":1777630000123456,"paid":true,
	"products":[{"sku":"a","price":1.5}],"tags":["x","y"],"attributes":{"color":"red"},
	"discount":"12.34","placed_on":"2026-04-30","pickup_time":"09:30:00.5","token":"123e4567-e89b-12d3-a456-426614174000",
	"address":{"city":"Lyon","zip":"69001"},"event":"clash","note":7}`

func TestTypedTables(t *testing.T) {
	d := newDest(t, func(c *Config) { c.Plans = shopPlans(t) })
	s := d.open(t)
	ctx := t.Context()

	// Plan version 1: the table is created from the schema.
	events := []schemas.Event{
		planned("full", "Order Completed", 1, 0, fullOrder),
		// typeViolations: allow let values through that do not fit: NULL.
		planned("odd", "Order Completed", 1, 1, `{"order_id":5,"total":"abc","currency":"GBP","item_count":1.5,"paid":"yes",
			"completed_at":"yesterday","tags":[1,2],"attributes":{"a":1},"discount":"1234567890123","token":"nope","placed_on":99999999}`),
		planned("signup", "Signed Up", 1, 0, `{"method":"google"}`),
		planned("unplanned", "Page Scrolled", 1, 0, `{"depth":50}`),
	}
	if err := s.Write(ctx, sinktest.NewBatch("t", 0, 0, events)); err != nil {
		t.Fatal(err)
	}
	q := func(sql string) []string {
		return d.strings(t, strings.ReplaceAll(sql, "DB.", quoteIdent(d.db)+"."))
	}
	got := q(row("message_id", "event_version", "order_id", "total", "currency", "coupon", "item_count", "completed_at",
		"shipped_at", "paid", "products", "tags", "attributes", "discount", "placed_on", "pickup_time", "token", "address",
		"prop_event", "note") + " FROM DB.track_order_completed ORDER BY message_id")
	want := []string{
		`full|1|o-1|99.5|EUR|SPRING|3|2026-05-01 10:00:00.250|2026-05-01 10:06:40.123456|true|[{"sku":"a","price":1.5}]|['x','y']|{'color':'red'}|12.34|2026-04-30|34200500|123e4567-e89b-12d3-a456-426614174000|{"city":"Lyon","zip":"69001"}|clash|7`,
		`odd|1|NULL|NULL|GBP|NULL|NULL|NULL|NULL|NULL|NULL|[]|{}|NULL|NULL|NULL|NULL|{}|NULL|NULL`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("typed rows:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	if n := d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+".track_signed_up"); n != 1 {
		t.Errorf("track_signed_up holds %d rows, want 1", n)
	}
	if n := d.count(t, "SELECT count() FROM system.tables WHERE database = ? AND name = 'track_page_scrolled'", d.db); n != 0 {
		t.Error("an unplanned event got a typed table")
	}
	if n := d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+".tracks WHERE plan = 'shop' AND plan_version = 1"); n != 4 {
		t.Errorf("tracks holds %d rows of plan shop v1, want 4", n)
	}

	// Plan version 2 adds columns (and widens item_count, same column);
	// Signed Up v2 adds campaign to the same table.
	more := []schemas.Event{
		planned("v2", "Order Completed", 2, 0, `{"order_id":"o-2","total":1,"currency":"USD","item_count":9000000000,"shipping":4.5,"gift":true}`),
		planned("signup2", "Signed Up", 2, 2, `{"method":"email","campaign":"spring"}`),
	}
	if err := s.Write(ctx, sinktest.NewBatch("t", 0, 10, more)); err != nil {
		t.Fatal(err)
	}
	got = q(row("order_id", "item_count", "shipping", "gift", "plan_version") + " FROM DB.track_order_completed WHERE message_id = 'v2'")
	if len(got) != 1 || got[0] != "o-2|9000000000|4.5|true|2" {
		t.Errorf("v2 row = %v", got)
	}
	got = q(row("method", "campaign", "event_version") + " FROM DB.track_signed_up ORDER BY message_id")
	if strings.Join(got, ",") != "google|NULL|1,email|spring|2" {
		t.Errorf("signed up rows = %v", got)
	}

	// Plan version 3 turns total into a string: refused, and only those
	// events fail; version 4 is not known yet: retryable.
	mixed := []schemas.Event{
		planned("ok", "Signed Up", 3, 1, `{"method":"sso"}`),
		planned("clash", "Order Completed", 3, 0, `{"order_id":"o-3","total":"1.00","currency":"USD","item_count":1}`),
		planned("future", "Order Completed", 4, 0, `{}`),
	}
	err := s.Write(ctx, sinktest.NewBatch("t", 0, 20, mixed))
	var be *sinks.BatchError
	if !errors.As(err, &be) || fmt.Sprint(be.Failed) != "[1 2]" {
		t.Fatalf("Write = %v, want a BatchError naming events 1 and 2", err)
	}
	var se *sinks.SchemaError
	if !errors.As(err, &se) || se.Column != "total" || se.Have != "Nullable(Float64)" || se.Want != "Nullable(String)" {
		t.Fatalf("want a SchemaError on total, got %v", err)
	}
	if !errors.Is(err, sinks.ErrPlanNotReady) {
		t.Fatalf("want ErrPlanNotReady for plan version 4, got %v", err)
	}
	// Mixed causes: retryable wins, the engine retries both.
	if c, _ := sinks.Classify(err); c != sinks.Retryable {
		t.Errorf("mixed batch error classified %s", c)
	}
	if c, _ := sinks.Classify(be.Err.(interface{ Unwrap() []error }).Unwrap()[0]); c == 0 {
		t.Error("no class for a part")
	}
	if c, _ := sinks.Classify(se); c != sinks.Permanent {
		t.Errorf("SchemaError classified %s", c)
	}
	if n := d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+".tracks WHERE message_id IN ('clash', 'future')"); n != 0 {
		t.Errorf("refused events reached tracks (%d rows)", n)
	}
	if n := d.count(t, "SELECT count() FROM "+quoteIdent(d.db)+".track_signed_up WHERE message_id = 'ok'"); n != 1 {
		t.Error("the compatible event of the batch was not delivered")
	}
	var alters int
	for _, st := range s.DDLStatements() {
		if strings.HasPrefix(st, "ALTER TABLE") {
			alters++
		}
	}
	if alters != 2 {
		t.Errorf("%d ALTER statements, want 2 (shipping+gift, campaign):\n%s", alters, strings.Join(s.DDLStatements(), "\n"))
	}

	// A second sink (another process) finds the tables as they are.
	s2 := d.open(t)
	if err := s2.Write(ctx, sinktest.NewBatch("t", 1, 0, []schemas.Event{planned("other", "Order Completed", 2, 0, `{"order_id":"o-4","shipping":1}`)})); err != nil {
		t.Fatal(err)
	}
	for _, st := range s2.DDLStatements() {
		if strings.HasPrefix(st, "ALTER TABLE") {
			t.Errorf("the second sink altered a table that had every column: %s", st)
		}
	}
}

func TestBadRowFailsAlone(t *testing.T) {
	d := newDest(t)
	s := d.open(t)
	events := sinktest.Events("bisect", 100)
	for _, i := range []int{6, 72} { // both tracks
		events[i].Properties = json.RawMessage(`{"huge":1e400}`)
	}
	err := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, events))
	var be *sinks.BatchError
	if !errors.As(err, &be) || fmt.Sprint(be.Failed) != "[6 72]" {
		t.Fatalf("Write = %v, want a BatchError naming events 6 and 72", err)
	}
	if c, reason := sinks.Classify(err); c != sinks.Permanent {
		t.Fatalf("classified %s (%s)", c, reason)
	}
	var want []string
	for i, e := range events {
		if i != 6 && i != 72 {
			want = append(want, e.MessageID)
		}
	}
	got := d.Delivered(t)
	if len(got) != len(want) {
		t.Fatalf("%d events delivered, want %d", len(got), len(want))
	}
}

// row selects columns as one string, "|"-separated, NULL spelled out.
func row(cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "ifNull(toString(" + c + "), 'NULL')"
	}
	return "SELECT concat_ws('|', " + strings.Join(parts, ", ") + ")"
}
