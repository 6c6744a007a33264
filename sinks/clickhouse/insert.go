package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks"
)

// insertSettings are the settings of every insert. Deduplication needs
// synchronous inserts; the JSON settings keep string values strings (date
// inference is the costliest part of parsing JSON columns, and a path whose
// type flips between batches is worse for analysts than a string), keep
// an object with a key written twice from failing the whole block, and
// escape dots inside keys (as chblock does) so that {"a.b":1,"a":{"b":2}}
// keeps both values: paths a%2Eb and a.b. Into a
// Distributed table, the insert returns only once every shard has its rows
// (not when they are queued on the server), so an acknowledged batch is
// stored.
func (s *Sink) insertSettings(token string, json bool) ch.Settings {
	st := ch.Settings{
		"insert_deduplicate":         1,
		"insert_deduplication_token": token,
		"async_insert":               0,
	}
	if s.ddl.sharded {
		st["distributed_foreground_insert"] = 1
	}
	if json {
		st["input_format_try_infer_dates"] = 0
		st["input_format_try_infer_datetimes"] = 0
		st["type_json_skip_duplicated_paths"] = 1
		st["json_type_escape_dots_in_keys"] = 1
	}
	return st
}

// failure is rows refused for good, and why.
type failure struct {
	rows []int
	err  error
}

// insert writes the group's rows. A permanent refusal is narrowed down by
// halving the rows, so one row ClickHouse cannot take fails alone; a
// retryable error ends the Write.
func (s *Sink) insert(ctx context.Context, b *sinks.Batch, prots []protocols, g *group, rows []int) (failure, error) {
	if len(rows) == 0 {
		return failure{}, nil
	}
	err := s.send(ctx, b, prots, g, rows)
	if err == nil {
		return failure{}, nil
	}
	if c, _ := sinks.Classify(err); c != sinks.Permanent {
		return failure{}, err
	}
	if len(rows) == 1 {
		return failure{rows: rows, err: err}, nil
	}
	half := len(rows) / 2
	left, err := s.insert(ctx, b, prots, g, rows[:half])
	if err != nil {
		return failure{}, err
	}
	right, err := s.insert(ctx, b, prots, g, rows[half:])
	if err != nil {
		return failure{}, err
	}
	// A fresh slice: left.rows may share rows' backing array.
	out := failure{rows: append(append([]int(nil), left.rows...), right.rows...), err: left.err}
	if out.err == nil {
		out.err = right.err
	}
	return out, nil
}

// send inserts the rows as one block with their deduplication token.
func (s *Sink) send(ctx context.Context, b *sinks.Batch, prots []protocols, g *group, rows []int) error {
	src := source{topic: b.Topic, partition: b.Partition}
	token := g.table + "/" + sinks.OffsetsToken(b.Topic, b.Partition, b.Offsets[rows[0]], b.Offsets[rows[len(rows)-1]], batchOffsets(b, rows))
	if stmt, done, ok := s.nativeInsert(b, prots, g, rows); ok {
		if err := s.conn.Exec(ch.Context(ctx, ch.WithSettings(s.insertSettings(token, false))), stmt); err != nil {
			return fmt.Errorf("clickhouse: insert of %d rows into %s: %w", len(rows), g.table, err)
		}
		done() // only now: a failed request's body may still be being read
		return nil
	}
	var values []any
	hasJSON := false
	for _, c := range g.cols {
		hasJSON = hasJSON || isJSON(c.Type)
	}
	if g.layout != nil {
		r := newTypedRows(g.layout, len(rows))
		for _, i := range rows {
			r.add(&b.Events[i], &prots[i], src, b.Offsets[i])
		}
		for i := range r.base.bufs {
			values = append(values, r.base.bufs[i].values())
		}
		for i := range r.bufs {
			values = append(values, r.bufs[i].values())
		}
	} else {
		r := newCoreRows(coreTable(g.table).columns, len(rows))
		for _, i := range rows {
			r.add(&b.Events[i], &prots[i], src, b.Offsets[i])
		}
		for i := range r.bufs {
			values = append(values, r.bufs[i].values())
		}
	}
	if len(values) != len(g.cols) {
		return fmt.Errorf("clickhouse: %s: %d column values for %d columns", g.table, len(values), len(g.cols))
	}

	qctx := ch.Context(ctx, ch.WithSettings(s.insertSettings(token, hasJSON)), ch.WithColumnNamesAndTypes(g.cols))
	names := make([]string, len(g.cols))
	for i, c := range g.cols {
		names[i] = quoteIdent(c.Name)
	}
	batch, err := s.conn.PrepareBatch(qctx, "INSERT INTO "+s.ddl.qualified(g.table)+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("clickhouse: insert into %s: %w", g.table, err)
	}
	defer batch.Abort()
	for i, v := range values {
		if err := batch.Column(i).Append(v); err != nil {
			return fmt.Errorf("clickhouse: insert into %s, column %s: %w", g.table, g.cols[i].Name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse: insert of %d rows into %s: %w", len(rows), g.table, err)
	}
	return nil
}

// skipPresent drops from the group the rows its table already holds: same
// topic, partition and offset, and the same message id (so a topic that
// was deleted and re-created, restarting its offsets, loses nothing).
func (s *Sink) skipPresent(ctx context.Context, b *sinks.Batch, g *group) error {
	if len(g.rows) == 0 {
		return nil
	}
	lo, hi := b.Offsets[g.rows[0]], b.Offsets[g.rows[len(g.rows)-1]]
	rows, err := s.conn.Query(ctx, "SELECT kafka_offset, message_id FROM "+s.ddl.qualified(g.table)+
		" WHERE kafka_topic = ? AND kafka_partition = ? AND kafka_offset BETWEEN ? AND ?", b.Topic, b.Partition, lo, hi)
	if err != nil {
		return fmt.Errorf("clickhouse: looking for rows already in %s: %w", g.table, err)
	}
	defer rows.Close()
	present := map[int64]string{}
	for rows.Next() {
		var off int64
		var id string
		if err := rows.Scan(&off, &id); err != nil {
			return err
		}
		present[off] = id
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(present) == 0 {
		return nil
	}
	kept := g.rows[:0]
	for _, i := range g.rows {
		if id, ok := present[b.Offsets[i]]; ok && id == b.Events[i].MessageID {
			continue
		}
		kept = append(kept, i)
	}
	g.rows = kept
	return nil
}

// highestOffset returns the highest offset of the partition that any table
// with delivery columns holds, or -1.
func (s *Sink) highestOffset(ctx context.Context, pk partitionKey) (int64, error) {
	s.cat.mu.Lock()
	err := s.cat.load(ctx, "")
	var tables []string
	for name, cols := range s.cat.tables {
		// A sharded table is read through its Distributed table.
		if s.ddl.sharded && strings.HasPrefix(name, localPrefix) {
			continue
		}
		if _, ok := cols["kafka_offset"]; ok && name != tableUsers {
			tables = append(tables, name)
		}
	}
	s.cat.mu.Unlock()
	if err != nil || len(tables) == 0 {
		return -1, err
	}
	slices.Sort(tables)
	parts := make([]string, len(tables))
	args := make([]any, 0, 2*len(tables))
	for i, t := range tables {
		parts[i] = "SELECT max(kafka_offset) AS o, count() AS n FROM " + s.ddl.qualified(t) + " WHERE kafka_topic = ? AND kafka_partition = ?"
		args = append(args, pk.topic, pk.partition)
	}
	var high int64
	var n uint64
	q := "SELECT max(o), sum(n) FROM (" + strings.Join(parts, " UNION ALL ") + ") WHERE n > 0"
	if err := s.conn.QueryRow(ctx, q, args...).Scan(&high, &n); err != nil {
		return -1, fmt.Errorf("clickhouse: reading the highest delivered offset of %s/%d: %w", pk.topic, pk.partition, err)
	}
	if n == 0 {
		return -1, nil
	}
	return high, nil
}
