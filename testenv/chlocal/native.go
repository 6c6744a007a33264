package chlocal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
)

// revisionWithCustomSerialization is the client revision from which a Native
// column carries a "has custom serialization" byte after its type
// (DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION).
const revisionWithCustomSerialization = 54454

// decodeBufferSize matches ch-go's proto.Reader buffer, so NewReader reuses the
// bufio.Reader given to it and the bytes it consumed can be counted.
const decodeBufferSize = 128 << 10

// reencodeNative rewrites Native output for a client of protocol revision
// revision. The engine writes revision 0: no block info and no per-column
// serialization byte; clients that send client_protocol_version (clickhouse-go
// does) expect both. Column data is copied byte for byte, so every type keeps
// the engine's own serialization; clickhouse-go's decoders are used only to
// find where each column's data ends. It returns the data and its row count.
func reencodeNative(data []byte, revision uint64, sc *column.ServerContext) (out []byte, rows int, err error) {
	defer func() {
		if p := recover(); p != nil { // a decoder's bug must not take the server down
			out, rows, err = nil, 0, fmt.Errorf("decoding Native: %v", p)
		}
	}()
	var buf chproto.Buffer
	r := nativeReader{data: data}
	for r.pos < len(data) {
		numCols, numRows := r.uvarint(), r.uvarint()
		if r.err != nil {
			return nil, 0, r.err
		}
		// Every type but the empty Tuple takes a byte a row or more, and the
		// engine's blocks hold at most max_block_size (65409) rows: a bigger
		// count than the data could hold is garbage, not a reason to allocate.
		if numRows > 1<<16 && numRows > uint64(len(data)-r.pos) {
			return nil, 0, fmt.Errorf("block of %d rows in %d bytes", numRows, len(data)-r.pos)
		}
		if revision > 0 {
			// BlockInfo: field 1 is_overflows=false, field 2 bucket_num=-1, end.
			buf.PutUVarInt(1)
			buf.PutBool(false)
			buf.PutUVarInt(2)
			buf.PutInt32(-1)
			buf.PutUVarInt(0)
		}
		buf.PutUVarInt(numCols)
		buf.PutUVarInt(numRows)
		for range numCols {
			name, typ := r.str(), r.str()
			if r.err != nil {
				return nil, 0, r.err
			}
			buf.PutString(name)
			buf.PutString(typ)
			if revision >= revisionWithCustomSerialization {
				buf.PutBool(false)
			}
			if numRows == 0 {
				continue
			}
			n, err := columnSize(data[r.pos:], name, typ, int(numRows), sc)
			if err != nil {
				return nil, 0, fmt.Errorf("column %s %s: %w", name, typ, err)
			}
			buf.Buf = append(buf.Buf, data[r.pos:r.pos+n]...)
			r.pos += n
		}
		rows += int(numRows)
	}
	return buf.Buf, rows, nil
}

// columnSize returns how many bytes of data one column's values (with their
// serialization state prefix) take, by decoding them.
func columnSize(data []byte, name, typ string, rows int, sc *column.ServerContext) (int, error) {
	col, err := column.Type(typ).Column(name, sc)
	if err != nil {
		return 0, err
	}
	src := bytes.NewReader(data)
	buffered := bufio.NewReaderSize(src, decodeBufferSize)
	r := chproto.NewReader(buffered)
	if cs, ok := col.(column.CustomSerialization); ok {
		if err := cs.ReadStatePrefix(r); err != nil {
			return 0, err
		}
	}
	if err := col.Decode(r, rows); err != nil {
		return 0, err
	}
	n := len(data) - src.Len() - buffered.Buffered()
	if n <= 0 || n > len(data) {
		return 0, errors.New("cannot tell where the column ends")
	}
	return n, nil
}

// nativeReader reads the framing of Native blocks; the first error sticks.
type nativeReader struct {
	data []byte
	pos  int
	err  error
}

func (r *nativeReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.data[r.pos:])
	if n <= 0 {
		r.err = errors.New("truncated Native block header")
		return 0
	}
	r.pos += n
	return v
}

func (r *nativeReader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.data)-r.pos) {
		r.err = errors.New("truncated Native block header")
		return ""
	}
	s := string(r.data[r.pos : r.pos+int(n)])
	r.pos += int(n)
	return s
}
