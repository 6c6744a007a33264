package clickhouse

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Retention is how long the tables keep each source's rows, counted from
// received_at. The zero value keeps every row forever.
type Retention struct {
	// Sources are the sources with a retention of their own.
	Sources map[string]time.Duration
	// Default is the retention of every other source, those the config no
	// longer names included; 0 keeps their rows forever.
	Default time.Duration
}

// retentionTable reports whether t's rows expire by retention: every table
// with a source and a received_at column.
func retentionTable(cols []column) bool {
	return slices.ContainsFunc(cols, func(c column) bool { return c.name == colSource.name }) &&
		slices.ContainsFunc(cols, func(c column) bool { return c.name == colReceivedAt.name })
}

// ttl renders the tables' TTL clause without its keyword, as ClickHouse
// spells it back in system.tables (so that comparing the two tells whether
// a table is in line): one DELETE rule per distinct retention, shortest
// first, naming its sources; the Default rule last, for every source not
// named. "" when no row expires.
func (r Retention) ttl() string {
	bySpan := map[time.Duration][]string{}
	for src, d := range r.Sources {
		if d != r.Default {
			bySpan[d] = append(bySpan[d], src)
		}
	}
	var rules, named []string
	for _, d := range slices.Sorted(maps.Keys(bySpan)) {
		srcs := slices.Sorted(slices.Values(bySpan[d]))
		named = append(named, srcs...)
		rules = append(rules, expiry(d)+" WHERE source IN "+quoteStrings(srcs))
	}
	if r.Default > 0 {
		rule := expiry(r.Default)
		if len(named) > 0 {
			slices.Sort(named)
			rule += " WHERE source NOT IN " + quoteStrings(named)
		}
		rules = append(rules, rule)
	}
	return strings.Join(rules, ", ")
}

// expiry is when a row expires after d: received_at plus d in the largest
// whole unit (whole seconds at least; less is dropped).
func expiry(d time.Duration) string {
	for _, u := range []struct {
		span time.Duration
		fn   string
	}{{24 * time.Hour, "toIntervalDay"}, {time.Hour, "toIntervalHour"}, {time.Minute, "toIntervalMinute"}} {
		if d%u.span == 0 {
			return fmt.Sprintf("received_at + %s(%d)", u.fn, d/u.span)
		}
	}
	return fmt.Sprintf("received_at + toIntervalSecond(%d)", d/time.Second)
}

// validate names the first unusable retention.
func (r Retention) validate() error {
	if r.Default != 0 && r.Default < time.Second {
		return fmt.Errorf("clickhouse: retention: default %s: want at least 1s or 0 (forever)", r.Default)
	}
	for _, src := range slices.Sorted(maps.Keys(r.Sources)) {
		if d := r.Sources[src]; d < time.Second {
			return fmt.Errorf("clickhouse: retention: source %s: %s: want at least 1s", src, d)
		}
	}
	return nil
}

// ttlStatement renders what brings a table's TTL in line: MODIFY TTL, or
// REMOVE TTL when no row expires any more. ClickHouse then rewrites the
// table's parts (materialize_ttl_after_modify), deleting the rows a new
// rule expires, as a mutation in the background.
func (d ddl) ttlStatement(storage string) string {
	alter := "ALTER TABLE " + d.qualified(storage) + d.onCluster()
	if d.ttl == "" {
		return alter + " REMOVE TTL"
	}
	return alter + " MODIFY TTL " + d.ttl
}

// tableTTL reads a table's TTL clause out of system.tables' engine_full
// ("MergeTree PARTITION BY … ORDER BY … TTL <clause> SETTINGS …"); "" for
// none.
func tableTTL(engineFull string) string {
	_, rest, ok := strings.Cut(engineFull, " TTL ")
	if !ok {
		return ""
	}
	clause, _, _ := strings.Cut(rest, " SETTINGS ")
	return clause
}

// alignRetention brings the TTL of every table that stores rows with a
// source and received_at in line with the configured retention, with one
// ALTER per table whose TTL differs (ON CLUSTER on a cluster; the local
// tables on a sharded one, Distributed tables store nothing). A database
// in line runs nothing, so calling it at every open is idempotent.
func (c *catalog) alignRetention(ctx context.Context) error {
	rows, err := c.conn.Query(ctx, "SELECT name, engine, engine_full FROM system.tables WHERE database = ? ORDER BY name", c.cfg.Database)
	if err != nil {
		return fmt.Errorf("clickhouse: reading the tables of %s: %w", c.cfg.Database, err)
	}
	defer rows.Close()
	var stale []string
	for rows.Next() {
		var name, engine, full string
		if err := rows.Scan(&name, &engine, &full); err != nil {
			return fmt.Errorf("clickhouse: reading the tables of %s: %w", c.cfg.Database, err)
		}
		have := c.tables[name]
		_, source := have[colSource.name]
		_, received := have[colReceivedAt.name]
		if strings.HasSuffix(engine, "MergeTree") && source && received && tableTTL(full) != c.ddl.ttl {
			stale = append(stale, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: reading the tables of %s: %w", c.cfg.Database, err)
	}
	for _, name := range stale {
		c.cfg.Logger.Info("aligning the retention TTL", "database", c.cfg.Database, "table", name, "ttl", c.ddl.ttl)
		if err := c.exec(ctx, c.ddl.ttlStatement(name)); err != nil {
			return err
		}
	}
	return nil
}
