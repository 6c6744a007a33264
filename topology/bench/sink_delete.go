package bench

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/clickhouse"
)

// sinkDeleteRun fills tracks with opts.Rows rows of Rows/100 users spread
// over 90 days, then times the sink's Delete of opts.DeleteUsers of them.
func sinkDeleteRun(ctx context.Context, conn driver.Conn, cfg clickhouse.Config, opts SinkOptions, out io.Writer) (SinkResult, error) {
	res := SinkResult{DeleteUsers: opts.DeleteUsers, TableRows: opts.Rows, JSONColumns: opts.JSONColumns}
	users := max(opts.Rows/100, opts.DeleteUsers)
	cfg.Database = "bench_delete"
	s, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer s.Close(context.WithoutCancel(ctx))
	fmt.Fprintf(out, "delete: filling tracks with %d rows of %d users (local ClickHouse %s)\n", opts.Rows, users, sinkCHVersion(ctx, conn))
	fill := ch.Context(ctx, ch.WithSettings(ch.Settings{
		"max_insert_threads": 2, "input_format_try_infer_dates": 0, "input_format_try_infer_datetimes": 0,
	}))
	start := time.Now()
	const chunk = 1_000_000
	for from := 0; from < opts.Rows; from += chunk {
		n := min(chunk, opts.Rows-from)
		q := fmt.Sprintf(`INSERT INTO bench_delete.tracks (message_id, workspace, source, user_id, anonymous_id, event, timestamp,
			received_at, context, properties, kafka_topic, kafka_partition, kafka_offset)
		SELECT concat('m-', toString(number)), 'bench', 'web', concat('user-', toString(cityHash64(number) %% %d)),
			concat('anon-', toString(cityHash64(number) %% %d)), ['Order Completed', 'Product Viewed', 'Signed In'][number %% 3 + 1],
			now64(3) - toIntervalMillisecond(intDiv(number * 7776000000, %d)), now64(3) - toIntervalMillisecond(intDiv(number * 7776000000, %d)),
			concat('{"library":{"name":"analytics.js"},"ip":"10.0.', toString(number %% 250), '.1","locale":"en-US"}'),
			concat('{"order_id":"o-', toString(number), '","total":', toString(number %% 500), '.5}'),
			'sluice.dest.warehouse', 0, number
		FROM numbers(%d, %d)`, users, users, opts.Rows, opts.Rows, from, n)
		if err := conn.Exec(fill, q); err != nil {
			return res, fmt.Errorf("bench: filling tracks: %w", err)
		}
	}
	if err := sinkWaitMerges(ctx, conn); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "delete: filled in %.1fs\n", time.Since(start).Seconds())

	req := sinks.DeleteRequest{Workspace: "bench"}
	step := users / opts.DeleteUsers
	for i := range opts.DeleteUsers {
		req.UserIDs = append(req.UserIDs, "user-"+strconv.Itoa(i*step))
	}
	start = time.Now()
	rec, err := s.Delete(ctx, req)
	if err != nil {
		return res, err
	}
	res.DeleteSeconds = time.Since(start).Seconds()
	res.Statements = rec.Statements
	for _, t := range rec.Tables {
		res.DeletedRows += t.Before
	}
	fmt.Fprintf(out, "delete: %d users, %d rows of %d, in %.2fs (count, DELETE, verifying count; every sluice table)\n",
		opts.DeleteUsers, res.DeletedRows, opts.Rows, res.DeleteSeconds)
	return res, nil
}
