package bench

import (
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var (
	sinkEventsFlag = flag.Int("sink.events", 0, "run the full sink benchmark with this many events (TestSinkFull)")
	sinkDeleteFlag = flag.Int("sink.delete-users", 0, "run the delete benchmark with this many users (TestSinkFull)")
	sinkRowsFlag   = flag.Int("sink.rows", 10_000_000, "rows of the delete benchmark's tracks table")
	sinkModeFlag   = flag.String("sink.json-columns", "json", "the sink's jsonColumns mode")
	sinkBatchFlag  = flag.Int("sink.batch", 0, "the sink's batchEvents; 0 keeps its default")
)

// TestSinkSmall runs the sink benchmark small, as a test that it works.
func TestSinkSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the local ClickHouse engine")
	}
	res, err := Sink(t.Context(), SinkOptions{Events: 30_000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 33_000 || res.RowsPerSec <= 0 || res.BaselineRowsPerSec <= 0 {
		t.Fatalf("%+v", res)
	}
}

// TestSinkFull runs the full benchmark when asked by flags, e.g.
//
//	go test ./topology/bench -run TestSinkFull -v -timeout 1h -sink.events 1000000
//	go test ./topology/bench -run TestSinkFull -v -timeout 1h -sink.delete-users 5000 -sink.rows 10000000
func TestSinkFull(t *testing.T) {
	if *sinkEventsFlag == 0 && *sinkDeleteFlag == 0 {
		t.Skip("no -sink.events or -sink.delete-users")
	}
	res, err := Sink(t.Context(), SinkOptions{Events: *sinkEventsFlag, DeleteUsers: *sinkDeleteFlag, Rows: *sinkRowsFlag,
		JSONColumns: *sinkModeFlag, BatchEvents: *sinkBatchFlag, Out: os.Stdout})
	if err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(res)
	t.Log(string(line))
}
