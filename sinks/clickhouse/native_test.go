package clickhouse

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

// TestNativeBlocksStoreWhatClickHouseGoStores writes the same batches
// through the sink's own Native blocks and through clickhouse-go's batch
// (JSON sent as text), and compares every core table in the engine's own
// serialization: every value, and every JSON path's type.
func TestNativeBlocksStoreWhatClickHouseGoStores(t *testing.T) {
	events := sinktest.Events("native", 60)
	odd := []string{
		`{"products":[{"sku":"a","qty":1,"price":19.99},{"sku":"b","qty":2,"price":5}],"tags":["x",null],"n":-3,"ok":true,"nested":{"deep":{"x":1.5}}}`,
		`{"tags":[],"n":2.5,"ok":null,"e\u0301":"caf\u00e9","empty":{}}`,
		`{"products":[],"n":"seven","a.b":1,"a":{"b":2,"c.d":[{"e.f":"g"}]}}`,
	}
	for i := range events {
		if raw := odd[i%len(odd)]; events[i].Properties != nil {
			events[i].Properties = json.RawMessage(raw)
		}
		if i%7 == 0 {
			events[i].Context = json.RawMessage(`{"library":{"name":"analytics-node","version":"2.0"},"campaign":{"name":"spring"},"traits":{"plan":"pro"},"ip":null,"page.url":"flat"}`)
		}
		if i%11 == 0 {
			events[i].OriginalTimestamp, events[i].SentAt = time.Time{}, time.Time{} // NULL
			events[i].Properties = nil
		}
	}
	// A value the encoder declines: this batch's tracks go as text.
	declined := sinktest.Events("declined", 12)
	for i := range declined {
		declined[i].Properties = json.RawMessage(`{"mixed":[1,"a"]}`)
	}
	batches := []sinks.Batch{
		sinktest.NewBatch("sluice.dest.warehouse", 0, 100, events[:30]),
		sinktest.NewBatch("sluice.dest.warehouse", 1, 7, events[30:]),
		sinktest.NewBatch("sluice.dest.warehouse", 2, 0, declined),
	}

	native, text := newDest(t), newDest(t)
	ns, ts := native.open(t), text.open(t)
	ts.noNative = true
	for _, b := range batches {
		if err := ns.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
		if err := ts.Write(t.Context(), b); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range append(append([]string(nil), eventTables...), tableUsers) {
		order := "kafka_partition, kafka_offset"
		if table == tableUsers {
			order = "user_id"
		}
		// One part each, so that both come back as one block.
		native.exec(t, "OPTIMIZE TABLE "+quoteIdent(native.db)+"."+quoteIdent(table)+" FINAL")
		text.exec(t, "OPTIMIZE TABLE "+quoteIdent(text.db)+"."+quoteIdent(table)+" FINAL")
		q := "SELECT * EXCEPT loaded_at FROM " + quoteIdent(table) + " ORDER BY " + order + " FORMAT Native"
		a, b := native.nativeOf(t, q), text.nativeOf(t, q)
		if len(a) < 100 {
			t.Errorf("%s: %d bytes: the table is empty", table, len(a))
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s is stored differently\nnative blocks: %q\n clickhouse-go: %q", table, a, b)
		}
	}

	// The sink did write its own blocks for the typical rows, and fell back
	// for the declined ones.
	g := &group{table: tableTracks, cols: ns.core[tableTracks]}
	prots := make([]protocols, len(events))
	for _, tc := range []struct {
		b    sinks.Batch
		rows []int
		want bool
	}{{batches[0], []int{0, 6, 12}, true}, {batches[2], []int{0, 6}, false}} {
		if _, _, ok := ns.nativeInsert(&tc.b, prots, g, tc.rows); ok != tc.want {
			t.Errorf("nativeInsert of %s = %v, want %v", tc.b.Events[tc.rows[0]].Properties, ok, tc.want)
		}
	}
}

// nativeOf runs q in the destination's database and returns its output,
// JSON in the engine's own serialization.
func (d *chDest) nativeOf(t *testing.T, q string) []byte {
	t.Helper()
	params := url.Values{"database": {d.db}, "output_format_native_write_json_as_string": {"0"}}
	resp, err := http.Post("http://"+d.srv.Addr()+"/?"+params.Encode(), "text/plain", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %v %s", q, err, body)
	}
	return body
}
