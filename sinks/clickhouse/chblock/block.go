// Package chblock writes insert blocks in ClickHouse's Native format as the
// server reads them in an HTTP request body (revision 0: no block info and no
// per-column serialization flags). JSON columns are written in the engine's
// own object serialization, every path's value typed as the server would
// type it when parsing the JSON text, so the server stores them without
// parsing JSON at all.
//
// It covers the column types of sluice's core warehouse tables. NewColumn
// reports the types it does not cover, and a JSON column declines an object
// holding a value whose stored type it cannot vouch for (see JSON.Append);
// callers then insert the rows another way.
package chblock

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Column is one column of a block, filled row by row.
type Column interface {
	// Type is the column's ClickHouse type, as written in the block.
	Type() string
	// Rows is the number of rows appended.
	Rows() int
	// prefix appends the column's serialization state prefix to b.
	prefix(b []byte) []byte
	// data appends the column's values to b.
	data(b []byte) []byte
}

// NewColumn returns an empty column of the ClickHouse type typ (as
// system.columns spells it), or ok=false for a type the package does not
// write: String, LowCardinality(String), DateTime64(3, 'UTC') and its
// Nullable, UInt32, Int32, Int64, and JSON with String or Nullable(String)
// typed paths only.
func NewColumn(typ string) (c Column, ok bool) {
	switch typ {
	case "String":
		return &String{}, true
	case "LowCardinality(String)":
		return &LowCardinality{}, true
	case dateTime64:
		return &DateTime64{}, true
	case "Nullable(" + dateTime64 + ")":
		return &NullableDateTime64{}, true
	case "UInt32":
		return &UInt32{}, true
	case "Int32":
		return &Int32{}, true
	case "Int64":
		return &Int64{}, true
	}
	if j, ok := NewJSON(typ); ok {
		return j, true
	}
	return nil, false
}

// Block is named columns of equal length.
type Block struct {
	names []string
	cols  []Column
}

// Add appends a column named name.
func (b *Block) Add(name string, c Column) {
	b.names = append(b.names, name)
	b.cols = append(b.cols, c)
}

// AppendTo appends the block in Native format to dst.
func (b *Block) AppendTo(dst []byte) ([]byte, error) {
	rows := 0
	if len(b.cols) > 0 {
		rows = b.cols[0].Rows()
	}
	for i, c := range b.cols {
		if c.Rows() != rows {
			return dst, fmt.Errorf("chblock: column %s has %d rows, column %s %d", b.names[i], c.Rows(), b.names[0], rows)
		}
	}
	dst = binary.AppendUvarint(dst, uint64(len(b.cols)))
	dst = binary.AppendUvarint(dst, uint64(rows))
	for i, c := range b.cols {
		dst = appendString(dst, b.names[i])
		dst = appendString(dst, c.Type())
		dst = c.prefix(dst)
		dst = c.data(dst)
	}
	return dst, nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// strs is a String column's data: values back to back and their ends.
type strs struct {
	buf  []byte
	ends []int
}

func (s *strs) add(v string)      { s.buf = append(s.buf, v...); s.ends = append(s.ends, len(s.buf)) }
func (s *strs) addBytes(v []byte) { s.buf = append(s.buf, v...); s.ends = append(s.ends, len(s.buf)) }
func (s *strs) rows() int         { return len(s.ends) }

func (s *strs) data(b []byte) []byte {
	start := 0
	for _, end := range s.ends {
		b = appendBytes(b, s.buf[start:end])
		start = end
	}
	return b
}

// String is a String column.
type String struct{ v strs }

func (c *String) Append(v string)        { c.v.add(v) }
func (c *String) Type() string           { return "String" }
func (c *String) Rows() int              { return c.v.rows() }
func (c *String) prefix(b []byte) []byte { return b }
func (c *String) data(b []byte) []byte   { return c.v.data(b) }

// LowCardinality is a LowCardinality(String) column: a dictionary of the
// distinct values and each row's index into it.
type LowCardinality struct {
	index map[string]int
	dict  strs
	keys  []int
}

func (c *LowCardinality) Append(v string) {
	if c.index == nil {
		c.index = map[string]int{"": 0}
		c.dict.add("") // index 0 holds the default value
	}
	k, ok := c.index[v]
	if !ok {
		k = c.dict.rows()
		c.index[v] = k
		c.dict.add(v)
	}
	c.keys = append(c.keys, k)
}

func (c *LowCardinality) Type() string { return "LowCardinality(String)" }
func (c *LowCardinality) Rows() int    { return len(c.keys) }

// The key version: shared dictionaries with additional keys.
func (c *LowCardinality) prefix(b []byte) []byte { return binary.LittleEndian.AppendUint64(b, 1) }

func (c *LowCardinality) data(b []byte) []byte {
	if len(c.keys) == 0 {
		return b
	}
	const hasAdditionalKeys = 1 << 9
	width := uint64(0) // UInt8 keys
	switch n := c.dict.rows(); {
	case n > math.MaxUint16:
		width = 2
	case n > math.MaxUint8:
		width = 1
	}
	b = binary.LittleEndian.AppendUint64(b, width|hasAdditionalKeys)
	b = binary.LittleEndian.AppendUint64(b, uint64(c.dict.rows()))
	b = c.dict.data(b)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(c.keys)))
	for _, k := range c.keys {
		switch width {
		case 0:
			b = append(b, uint8(k))
		case 1:
			b = binary.LittleEndian.AppendUint16(b, uint16(k))
		default:
			b = binary.LittleEndian.AppendUint32(b, uint32(k))
		}
	}
	return b
}

const dateTime64 = "DateTime64(3, 'UTC')"

// DateTime64 is a DateTime64(3, 'UTC') column.
type DateTime64 struct{ ms []int64 }

func (c *DateTime64) Append(t time.Time)     { c.ms = append(c.ms, t.UnixMilli()) }
func (c *DateTime64) Type() string           { return dateTime64 }
func (c *DateTime64) Rows() int              { return len(c.ms) }
func (c *DateTime64) prefix(b []byte) []byte { return b }
func (c *DateTime64) data(b []byte) []byte   { return appendInt64s(b, c.ms) }

// NullableDateTime64 is a Nullable(DateTime64(3, 'UTC')) column; the zero
// time is NULL.
type NullableDateTime64 struct {
	nulls []byte
	ms    []int64
}

func (c *NullableDateTime64) Append(t time.Time) {
	if t.IsZero() {
		c.nulls, c.ms = append(c.nulls, 1), append(c.ms, 0)
		return
	}
	c.nulls, c.ms = append(c.nulls, 0), append(c.ms, t.UnixMilli())
}

func (c *NullableDateTime64) Type() string           { return "Nullable(" + dateTime64 + ")" }
func (c *NullableDateTime64) Rows() int              { return len(c.ms) }
func (c *NullableDateTime64) prefix(b []byte) []byte { return b }
func (c *NullableDateTime64) data(b []byte) []byte {
	return appendInt64s(append(b, c.nulls...), c.ms)
}

// UInt32 is a UInt32 column.
type UInt32 struct{ v []uint32 }

func (c *UInt32) Append(v uint32)        { c.v = append(c.v, v) }
func (c *UInt32) Type() string           { return "UInt32" }
func (c *UInt32) Rows() int              { return len(c.v) }
func (c *UInt32) prefix(b []byte) []byte { return b }
func (c *UInt32) data(b []byte) []byte {
	for _, v := range c.v {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	return b
}

// Int32 is an Int32 column.
type Int32 struct{ v []int32 }

func (c *Int32) Append(v int32)         { c.v = append(c.v, v) }
func (c *Int32) Type() string           { return "Int32" }
func (c *Int32) Rows() int              { return len(c.v) }
func (c *Int32) prefix(b []byte) []byte { return b }
func (c *Int32) data(b []byte) []byte {
	for _, v := range c.v {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b
}

// Int64 is an Int64 column.
type Int64 struct{ v []int64 }

func (c *Int64) Append(v int64)         { c.v = append(c.v, v) }
func (c *Int64) Type() string           { return "Int64" }
func (c *Int64) Rows() int              { return len(c.v) }
func (c *Int64) prefix(b []byte) []byte { return b }
func (c *Int64) data(b []byte) []byte   { return appendInt64s(b, c.v) }

func appendInt64s(b []byte, v []int64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, uint64(x))
	}
	return b
}

// parseTypedPaths reads the inside of JSON(...) as system.columns spells
// it: comma-separated "path String" or "path Nullable(String)" with paths
// optionally in backquotes. Any other parameter (another type, SKIP,
// max_dynamic_paths) is refused.
func parseTypedPaths(params string) ([]typedPath, bool) {
	var paths []typedPath
	for part := range strings.SplitSeq(params, ",") {
		part = strings.TrimSpace(part)
		path, nullable := strings.CutSuffix(part, " Nullable(String)")
		if !nullable {
			var ok bool
			if path, ok = strings.CutSuffix(part, " String"); !ok {
				return nil, false
			}
		}
		path = strings.TrimSpace(path)
		if strings.HasPrefix(path, "`") {
			unq, err := strconv.Unquote(path)
			if err != nil || strings.ContainsAny(unq, "`\\") {
				return nil, false
			}
			path = unq
		}
		if path == "" || strings.ContainsAny(path, " `'\"()\\") {
			return nil, false
		}
		paths = append(paths, typedPath{name: path, nullable: nullable})
	}
	return paths, len(paths) > 0
}
