package clickhouse

import (
	"reflect"
	"testing"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/schemas/plan"
)

// FuzzTypedRow feeds outside input (properties and context as sent) to the
// code that turns it into typed columns: it must never panic, and every
// column must get exactly one value per row.
func FuzzTypedRow(f *testing.F) {
	for _, seed := range []string{fullOrder, `{}`, `{"total":"x","tags":[1,{}],"attributes":{"a":[]},"token":5}`, `[1]`, `{"placed_on":-99999999999}`,
		`{"completed_at":"2026-13-45T99:99:99Z","discount":"1e400","pickup_time":"25:61:61"}`} {
		f.Add([]byte(seed), []byte(`{"protocols":{"plan":"shop","planVersion":1,"event_version":"2"}}`))
	}
	s := loadPlan(f, "shop-v1").Lookup(plan.Track, "Order Completed", 1)
	l := &layout{table: "track_order_completed", fields: typedColumns(s)}
	f.Fuzz(func(t *testing.T, props, context []byte) {
		p := readProtocols(context)
		r := newTypedRows(l, 1)
		e := schemas.Event{Type: schemas.Track, Event: "Order Completed", Properties: props, Context: context}
		r.add(&e, &p, source{topic: "t"}, 0)
		for i := range r.bufs {
			if n := reflect.ValueOf(r.bufs[i].values()).Len(); n != 1 {
				t.Fatalf("column %s got %d values", r.bufs[i].tc.name, n)
			}
		}
		for i := range r.base.bufs {
			if n := reflect.ValueOf(r.base.bufs[i].values()).Len(); n != 1 {
				t.Fatalf("column %s got %d values", r.base.bufs[i].col.name, n)
			}
		}
	})
}
