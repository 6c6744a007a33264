package clickhouse

import (
	"strings"
	"sync"
	"unsafe"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/clickhouse/chblock"
)

// nativeInsert returns the INSERT of a core table's rows with its data
// inline as a Native block written by chblock, so that JSON columns arrive
// in the engine's own serialization and the server parses no JSON text.
// ok is false when chblock does not write a column's type or declines a
// JSON value; the rows then go through clickhouse-go's batch instead. The
// statement aliases a pooled buffer: call done once the server has taken
// it, and never after a failed request (whose body may still be read).
func (s *Sink) nativeInsert(b *sinks.Batch, prots []protocols, g *group, rows []int) (stmt string, done func(), ok bool) {
	if s.noNative || g.layout != nil {
		return "", nil, false
	}
	defs := coreTable(g.table).columns
	var block chblock.Block
	fills := make([]func(i int) bool, 0, len(g.cols))
	names := make([]string, 0, len(g.cols))
	k := 0
	for _, def := range defs {
		if def.field == fLoadedAt {
			continue
		}
		if k >= len(g.cols) || g.cols[k].Name != def.name {
			return "", nil, false
		}
		col, ok := chblock.NewColumn(g.cols[k].Type)
		if !ok {
			return "", nil, false
		}
		fill := filler(def.field, col, b, prots)
		if fill == nil {
			return "", nil, false
		}
		block.Add(def.name, col)
		fills = append(fills, fill)
		names = append(names, quoteIdent(def.name))
		k++
	}
	if k != len(g.cols) {
		return "", nil, false
	}
	for _, i := range rows {
		for _, fill := range fills {
			if !fill(i) {
				return "", nil, false
			}
		}
	}
	head := "INSERT INTO " + s.ddl.qualified(g.table) + " (" + strings.Join(names, ", ") + ") FORMAT Native\n"
	buf := bodies.Get().(*[]byte)
	body, err := block.AppendTo(append((*buf)[:0], head...))
	if err != nil {
		bodies.Put(buf)
		return "", nil, false
	}
	*buf = body
	return unsafe.String(unsafe.SliceData(body), len(body)), func() { bodies.Put(buf) }, true
}

// bodies are insert bodies for reuse: a block of 50,000 events is tens of
// MiB, and growing a fresh one for every insert costs more than writing it.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// filler returns what appends event i's value of field to col, or nil when
// the column's type does not suit the field.
func filler(field field, col chblock.Column, b *sinks.Batch, prots []protocols) func(i int) bool {
	src := source{topic: b.Topic, partition: b.Partition}
	switch c := col.(type) {
	case interface{ Append(string) }:
		str := stringOf(field, src)
		if str == nil {
			return nil
		}
		return func(i int) bool { c.Append(str(&b.Events[i], &prots[i])); return true }
	case *chblock.JSON:
		raw := rawObjectOf(field)
		if raw == nil {
			return nil
		}
		return func(i int) bool { return c.Append(objectBytes(raw(&b.Events[i]))) }
	case *chblock.DateTime64:
		switch field {
		case fTimestamp:
			return func(i int) bool { c.Append(b.Events[i].Timestamp); return true }
		case fReceivedAt:
			return func(i int) bool { c.Append(b.Events[i].ReceivedAt); return true }
		}
	case *chblock.NullableDateTime64:
		switch field {
		case fOriginalTimestamp:
			return func(i int) bool { c.Append(b.Events[i].OriginalTimestamp); return true }
		case fSentAt:
			return func(i int) bool { c.Append(b.Events[i].SentAt); return true }
		}
	case *chblock.UInt32:
		switch field {
		case fPlanVersion:
			return func(i int) bool { c.Append(prots[i].planVersion); return true }
		case fEventVersion:
			return func(i int) bool { c.Append(prots[i].eventVersion); return true }
		}
	case *chblock.Int32:
		if field == fPartition {
			return func(int) bool { c.Append(src.partition); return true }
		}
	case *chblock.Int64:
		if field == fOffset {
			return func(i int) bool { c.Append(b.Offsets[i]); return true }
		}
	}
	return nil
}
