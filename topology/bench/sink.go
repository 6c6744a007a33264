package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/testenv/chlocal"
)

// SinkOptions describes one ClickHouse sink benchmark. The zero value works.
type SinkOptions struct {
	// Events is how many events to write; default 1,000,000.
	Events int
	// BatchEvents overrides the sink's batch size (batchEvents); default the
	// sink's own.
	BatchEvents int
	// Rounds is how many times baseline and sink each run; the best round
	// of each is reported. Default 2.
	Rounds int
	// JSONColumns is the sink's column mode, "json" (default) or "string".
	JSONColumns string
	// DeleteUsers, when positive, measures instead a lightweight delete of
	// that many users from a tracks table of Rows rows (default 10,000,000),
	// with Rows/100 users in it.
	DeleteUsers int
	Rows        int
	// DataDir is where the local engine keeps its data; default a fresh
	// temporary directory, removed afterwards. The engine serves one data
	// directory per process.
	DataDir string
	// Out receives the human-readable lines; default discards.
	Out io.Writer
}

// SinkResult is what Sink measured. The JSON names are the bench's contract
// with scripts.
type SinkResult struct {
	Events      int     `json:"events"`
	Rows        int     `json:"rows"` // rows inserted: events plus users rows of identify calls
	BatchEvents int     `json:"batch_events"`
	JSONColumns string  `json:"json_columns"`
	Seconds     float64 `json:"seconds"`
	RowsPerSec  float64 `json:"rows_per_sec"`
	// Baseline is clickhouse-go inserting the same rows from ready-made
	// column slices into the same tables: the engine's and driver's cost
	// without the sink's.
	BaselineSeconds    float64 `json:"baseline_seconds"`
	BaselineRowsPerSec float64 `json:"baseline_rows_per_sec"`
	Ratio              float64 `json:"ratio"`

	DeleteUsers   int      `json:"delete_users,omitempty"`
	TableRows     int      `json:"table_rows,omitempty"`
	DeletedRows   uint64   `json:"deleted_rows,omitempty"`
	DeleteSeconds float64  `json:"delete_seconds,omitempty"`
	Statements    []string `json:"statements,omitempty"`
}

// Sink starts the local ClickHouse engine in a fresh data directory and
// measures the ClickHouse sink: Events typical events (80% track, 10% page,
// 10% identify, ~600 bytes each) written as the delivery engine would, in
// batches of the sink's size from its MaxInFlight partitions at once, against
// a baseline of clickhouse-go inserting the same rows from plain column
// slices into the same tables; Rounds rounds of each, alternating, the best
// of each reported. With DeleteUsers it measures a lightweight delete
// instead (see SinkOptions).
func Sink(ctx context.Context, opts SinkOptions) (SinkResult, error) {
	if opts.Events <= 0 {
		opts.Events = 1_000_000
	}
	if opts.Rows <= 0 {
		opts.Rows = 10_000_000
	}
	if opts.Rounds <= 0 {
		opts.Rounds = 2
	}
	if opts.JSONColumns == "" {
		opts.JSONColumns = clickhouse.JSONType
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	dir := opts.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sluice-bench-sink-")
		if err != nil {
			return SinkResult{}, err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	srv, err := chlocal.Start(ctx, chlocal.Config{DataPath: dir, Addr: "127.0.0.1:0"})
	if err != nil {
		return SinkResult{}, err
	}
	defer srv.Close()
	conn, err := ch.Open(&ch.Options{Protocol: ch.HTTP, Addr: []string{srv.Addr()}, ReadTimeout: time.Hour})
	if err != nil {
		return SinkResult{}, err
	}
	defer conn.Close()
	cfg := clickhouse.Config{
		Addrs: []string{srv.Addr()}, JSONColumns: opts.JSONColumns,
		// Loopback: compressing costs CPU and saves nothing.
		Compression: "none", QueryTimeout: time.Hour, BatchEvents: opts.BatchEvents,
	}
	if opts.DeleteUsers > 0 {
		return sinkDeleteRun(ctx, conn, cfg, opts, out)
	}
	return sinkInsertRun(ctx, conn, cfg, opts, out)
}

func sinkInsertRun(ctx context.Context, conn driver.Conn, cfg clickhouse.Config, opts SinkOptions, out io.Writer) (SinkResult, error) {
	res := SinkResult{Events: opts.Events, JSONColumns: opts.JSONColumns}
	events := sinkEvents(opts.Events, time.Now().UTC())
	for _, e := range events {
		res.Rows++
		if e.Type == schemas.Identify && e.UserID != "" {
			res.Rows++
		}
	}
	fmt.Fprintf(out, "sink: %d events (%d rows), jsonColumns %s, local ClickHouse %s\n", res.Events, res.Rows, opts.JSONColumns, sinkCHVersion(ctx, conn))

	// Rounds alternate baseline and sink, each into fresh databases after
	// the engine's merges settled, and each side keeps its best round: the
	// engine's background merges make single runs noisy on two cores.
	var lim sinks.Limits
	for round := range opts.Rounds {
		cfg.Database = fmt.Sprintf("bench_baseline_%d", round)
		bs, err := clickhouse.Open(ctx, cfg)
		if err != nil {
			return res, err
		}
		lim = bs.Limits()
		bs.Close(ctx)
		batches := sinkBatches(events, lim.MaxEvents, lim.MaxInFlight)
		if err := sinkWaitMerges(ctx, conn); err != nil {
			return res, err
		}
		runtime.GC()
		start := time.Now()
		if err := sinkBaselineRun(ctx, conn, cfg.Database, batches, opts.JSONColumns == clickhouse.JSONType); err != nil {
			return res, err
		}
		secs := time.Since(start).Seconds()
		fmt.Fprintf(out, "round %d baseline: clickhouse-go inserting ready-made columns: %.2fs, %.0f rows/s\n", round+1, secs, float64(res.Rows)/secs)
		if res.BaselineSeconds == 0 || secs < res.BaselineSeconds {
			res.BaselineSeconds = secs
		}

		cfg.Database = fmt.Sprintf("bench_sink_%d", round)
		s, err := clickhouse.Open(ctx, cfg)
		if err != nil {
			return res, err
		}
		if err := sinkWaitMerges(ctx, conn); err != nil {
			return res, err
		}
		runtime.GC()
		start = time.Now()
		err = sinkWriteAll(ctx, s, batches)
		secs = time.Since(start).Seconds()
		s.Close(ctx)
		if err != nil {
			return res, err
		}
		fmt.Fprintf(out, "round %d sink:     %d batches of up to %d events, %d partitions at once: %.2fs, %.0f rows/s\n",
			round+1, sinkCountBatches(batches), lim.MaxEvents, lim.MaxInFlight, secs, float64(res.Rows)/secs)
		if res.Seconds == 0 || secs < res.Seconds {
			res.Seconds = secs
		}
	}
	res.BatchEvents = lim.MaxEvents
	res.RowsPerSec = float64(res.Rows) / res.Seconds
	res.BaselineRowsPerSec = float64(res.Rows) / res.BaselineSeconds
	res.Ratio = res.RowsPerSec / res.BaselineRowsPerSec
	fmt.Fprintf(out, "best:     sink %.0f rows/s, baseline %.0f rows/s, ratio %.2f\n", res.RowsPerSec, res.BaselineRowsPerSec, res.Ratio)

	// users keeps one row per user (ReplacingMergeTree), so the event
	// tables are what must hold every event exactly once.
	var n uint64
	if err := conn.QueryRow(ctx, "SELECT (SELECT count() FROM bench_sink_0.tracks) + (SELECT count() FROM bench_sink_0.pages) + (SELECT count() FROM bench_sink_0.identifies)").Scan(&n); err != nil {
		return res, err
	}
	if int(n) != res.Events {
		return res, fmt.Errorf("bench: the sink's event tables hold %d rows, want %d", n, res.Events)
	}
	return res, nil
}

// sinkEvents makes n typical events, about 600 bytes each as routed.
func sinkEvents(n int, now time.Time) []schemas.Event {
	names := []string{"Order Completed", "Product Viewed", "Product Added", "Checkout Started", "Signed In"}
	out := make([]schemas.Event, n)
	for i := range out {
		u := i % 50_000
		e := schemas.Event{
			MessageID: "bench-" + strconv.Itoa(i), Workspace: "bench", Source: "web",
			UserID: "user-" + strconv.Itoa(u), AnonymousID: "anon-" + strconv.Itoa(u),
			ReceivedAt: now.Add(-time.Duration(n-i) * time.Millisecond),
		}
		e.Timestamp = e.ReceivedAt.Add(-40 * time.Millisecond)
		e.OriginalTimestamp, e.SentAt = e.Timestamp, e.ReceivedAt.Add(-10*time.Millisecond)
		e.Context = json.RawMessage(`{"library":{"name":"analytics.js","version":"4.1.` + strconv.Itoa(i%7) + `"},` +
			`"page":{"path":"/p/` + strconv.Itoa(i%5000) + `","referrer":"https://www.google.com/","url":"https://shop.acme.example/p/` + strconv.Itoa(i%5000) + `"},` +
			`"ip":"203.0.113.` + strconv.Itoa(i%250) + `","locale":"en-US","userAgent":"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0"}`)
		switch i % 10 {
		case 0:
			e.Type, e.Name, e.Category = schemas.Page, "Product", "Shop"
			e.Properties = json.RawMessage(`{"path":"/p/` + strconv.Itoa(i%5000) + `","title":"Product ` + strconv.Itoa(i%5000) + `","referrer":"https://www.google.com/"}`)
		case 1:
			e.Type = schemas.Identify
			e.Traits = json.RawMessage(`{"email":"user` + strconv.Itoa(u) + `@acme.example","plan":"pro","logins":` + strconv.Itoa(i%300) + `,"company":{"name":"Acme","size":42}}`)
		default:
			e.Type, e.Event = schemas.Track, names[i%len(names)]
			e.Properties = json.RawMessage(`{"order_id":"o-` + strconv.Itoa(i) + `","total":` + strconv.Itoa(i%500) + `.95,"currency":"EUR",` +
				`"products":[{"sku":"sku-` + strconv.Itoa(i%50) + `","qty":1,"price":19.99},{"sku":"sku-9","qty":2,"price":5}]}`)
		}
		out[i] = e
	}
	return out
}

// sinkBatches deals the events round-robin over partitions and cuts
// each partition's events into batches of at most size.
func sinkBatches(events []schemas.Event, size, partitions int) [][]sinks.Batch {
	per := make([][]schemas.Event, partitions)
	for i := range events {
		per[i%partitions] = append(per[i%partitions], events[i])
	}
	out := make([][]sinks.Batch, partitions)
	for p, evs := range per {
		for from := 0; from < len(evs); from += size {
			to := min(from+size, len(evs))
			b := sinks.Batch{Topic: "sluice.dest.warehouse", Partition: int32(p), FirstOffset: int64(from), LastOffset: int64(to - 1), Events: evs[from:to]}
			for o := from; o < to; o++ {
				b.Offsets = append(b.Offsets, int64(o))
			}
			out[p] = append(out[p], b)
		}
	}
	return out
}

func sinkCountBatches(b [][]sinks.Batch) int {
	n := 0
	for _, p := range b {
		n += len(p)
	}
	return n
}

// sinkWriteAll writes every partition's batches in order, the partitions at once.
func sinkWriteAll(ctx context.Context, s sinks.Sink, batches [][]sinks.Batch) error {
	var wg sync.WaitGroup
	errs := make([]error, len(batches))
	for p := range batches {
		wg.Go(func() {
			for _, b := range batches[p] {
				if err := s.Write(ctx, b); err != nil {
					errs[p] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// sinkWaitMerges waits until the engine has no merge running, so the next run
// does not pay for the previous one's.
func sinkWaitMerges(ctx context.Context, conn driver.Conn) error {
	for {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func sinkCHVersion(ctx context.Context, conn driver.Conn) string {
	var v string
	_ = conn.QueryRow(ctx, "SELECT version()").Scan(&v)
	return v
}
