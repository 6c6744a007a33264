package clickhouse

import (
	"context"
	"fmt"
	"time"
)

// PurgeWithin is the bound Delete sets on how long a replaced part stays
// on disk (Config.PurgeWithin).
func (w *Warehouse) PurgeWithin() time.Duration { return w.cfg.PurgeWithin }

// PurgedBefore returns a time T, on this machine's clock, such that no
// server keeps a part of a table holding subjects' rows that was replaced
// before T: the rows of every Delete that returned before T are gone from
// the servers' disks, not only from every query. It asks the engine
// (system.parts, of every replica on a cluster): T is when the oldest part
// still waiting for removal was replaced, or the time of asking when none
// waits. A part a running query still reads waits until that query ends.
func (w *Warehouse) PurgedBefore(ctx context.Context) (time.Time, error) {
	ts, err := w.subjectTables(ctx)
	if err != nil {
		return time.Time{}, err
	}
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	parts := "system.parts"
	if w.cfg.Cluster != "" {
		parts = "clusterAllReplicas(" + quoteString(w.cfg.Cluster) + ", system.parts)"
	}
	// remove_time is when a part stopped being active (0 for parts being
	// written); it has second resolution, so the oldest waiting part was
	// replaced in [oldest, oldest+1s).
	q := "SELECT count(), toUnixTimestamp(min(remove_time)), toUnixTimestamp64Milli(now64(3)) FROM " + parts +
		" WHERE database = ? AND has(?, table) AND NOT active AND remove_time > 0"
	asked := time.Now()
	var waiting uint64
	var oldest uint32
	var serverNow int64
	if err := w.conn.QueryRow(ctx, q, w.cfg.Database, names).Scan(&waiting, &oldest, &serverNow); err != nil {
		return time.Time{}, fmt.Errorf("clickhouse: reading the replaced parts of %s: %w", w.cfg.Database, err)
	}
	if waiting == 0 {
		return asked, nil
	}
	// Map the server's clock onto ours; erring early (by the round trip)
	// only makes a purge wait longer.
	answered := time.Now()
	skew := time.UnixMilli(serverNow).Sub(answered)
	return time.Unix(int64(oldest), 0).Add(-skew).Add(-answered.Sub(asked)), nil
}
