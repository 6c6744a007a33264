package clickhouse

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/tidwall/gjson"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
)

// protocols is what the router wrote in context.protocols: the plan that
// judged the event and its version, and the event version.
type protocols struct {
	plan         string
	planVersion  uint32
	eventVersion uint32 // resolved by the router; 0 when absent
	// clientVersion is context.protocols.event_version as the sender wrote
	// it, when it is a positive integer; 0 otherwise.
	clientVersion uint32
}

var protocolsKey = []byte(`"protocols"`)

// readProtocols reads context.protocols; events without it have none.
func readProtocols(context []byte) protocols {
	if !bytes.Contains(context, protocolsKey) {
		return protocols{}
	}
	p := gjson.GetBytes(context, "protocols")
	if !p.IsObject() {
		return protocols{}
	}
	var out protocols
	p.ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "plan":
			if v.Type == gjson.String {
				out.plan = v.Str
			}
		case "planVersion":
			out.planVersion = positive(v)
		case "eventVersion":
			out.eventVersion = positive(v)
		case "event_version":
			out.clientVersion = positive(v)
		}
		return true
	})
	return out
}

func positive(v gjson.Result) uint32 {
	n, ok := toInt(v)
	if !ok || n < 1 || n > 1<<31 {
		return 0
	}
	return uint32(n)
}

// source is where a batch came from, for the bookkeeping columns.
type source struct {
	topic     string
	partition int32
}

// coreBuf collects one core column's values for one insert.
type coreBuf struct {
	col   column
	strs  []string
	times []time.Time
	nulls []*time.Time // aliasing the events: see add
	u32   []uint32
	i32   []int32
	i64   []int64
	str   func(*schemas.Event, *protocols) string // reads a string column's value
}

// coreRows collects the rows of one core table for one insert.
type coreRows struct {
	bufs []coreBuf
}

func newCoreRows(cols []column, n int) *coreRows {
	r := &coreRows{}
	for _, c := range cols {
		if c.field == fLoadedAt {
			continue
		}
		b := coreBuf{col: c}
		switch c.field {
		case fTimestamp, fReceivedAt:
			b.times = make([]time.Time, 0, n)
		case fOriginalTimestamp, fSentAt:
			b.nulls = make([]*time.Time, 0, n)
		case fPlanVersion, fEventVersion:
			b.u32 = make([]uint32, 0, n)
		case fPartition:
			b.i32 = make([]int32, 0, n)
		case fOffset:
			b.i64 = make([]int64, 0, n)
		default:
			b.strs = make([]string, 0, n)
		}
		r.bufs = append(r.bufs, b)
	}
	return r
}

// add appends one event's row.
func (r *coreRows) add(e *schemas.Event, p *protocols, src source, offset int64) {
	for i := range r.bufs {
		b := &r.bufs[i]
		switch b.col.field {
		case fTimestamp:
			b.times = append(b.times, e.Timestamp)
		case fOriginalTimestamp:
			b.nulls = append(b.nulls, timeOrNil(&e.OriginalTimestamp))
		case fSentAt:
			b.nulls = append(b.nulls, timeOrNil(&e.SentAt))
		case fReceivedAt:
			b.times = append(b.times, e.ReceivedAt)
		case fPlanVersion:
			b.u32 = append(b.u32, p.planVersion)
		case fEventVersion:
			b.u32 = append(b.u32, p.eventVersion)
		case fPartition:
			b.i32 = append(b.i32, src.partition)
		case fOffset:
			b.i64 = append(b.i64, offset)
		default:
			if b.str == nil {
				b.str = stringOf(b.col.field, src)
			}
			b.strs = append(b.strs, b.str(e, p))
		}
	}
}

// stringOf returns what reads a string column's value from an event: its
// field, the JSON text of an object field, or the bookkeeping; nil for a
// field that is not a string.
func stringOf(f field, src source) func(e *schemas.Event, p *protocols) string {
	switch f {
	case fMessageID:
		return func(e *schemas.Event, _ *protocols) string { return e.MessageID }
	case fWorkspace:
		return func(e *schemas.Event, _ *protocols) string { return e.Workspace }
	case fSource:
		return func(e *schemas.Event, _ *protocols) string { return e.Source }
	case fUserID:
		return func(e *schemas.Event, _ *protocols) string { return e.UserID }
	case fAnonymousID:
		return func(e *schemas.Event, _ *protocols) string { return e.AnonymousID }
	case fEvent:
		return func(e *schemas.Event, _ *protocols) string { return e.Event }
	case fName:
		return func(e *schemas.Event, _ *protocols) string { return e.Name }
	case fCategory:
		return func(e *schemas.Event, _ *protocols) string { return e.Category }
	case fGroupID:
		return func(e *schemas.Event, _ *protocols) string { return e.GroupID }
	case fPreviousID:
		return func(e *schemas.Event, _ *protocols) string { return e.PreviousID }
	case fPlan:
		return func(_ *schemas.Event, p *protocols) string { return p.plan }
	case fTopic:
		return func(*schemas.Event, *protocols) string { return src.topic }
	}
	if raw := rawObjectOf(f); raw != nil {
		return func(e *schemas.Event, _ *protocols) string { return object(raw(e)) }
	}
	return nil
}

// rawObjectOf returns what reads an object field (context, properties,
// traits) of an event as sent, or nil for another field.
func rawObjectOf(f field) func(e *schemas.Event) []byte {
	switch f {
	case fContext:
		return func(e *schemas.Event) []byte { return e.Context }
	case fProperties:
		return func(e *schemas.Event) []byte { return e.Properties }
	case fTraits:
		return func(e *schemas.Event) []byte { return e.Traits }
	}
	return nil
}

func (b *coreBuf) values() any {
	switch {
	case b.times != nil:
		return b.times
	case b.nulls != nil:
		return b.nulls
	case b.u32 != nil:
		return b.u32
	case b.i32 != nil:
		return b.i32
	case b.i64 != nil:
		return b.i64
	}
	return b.strs
}

// timeOrNil points at an event's time (the batch outlives the insert), or
// is nil (NULL) for an absent one. Pointers, because clickhouse-go v2.50.0
// stores sql.NullTime's invalid values as 1970 instead of NULL.
func timeOrNil(t *time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return t
}

// object returns a JSON object's text without copying it, "{}" when absent
// or not an object. The text aliases the event, which Write's caller keeps
// unchanged until Write returns; the client copies it into the block.
func object(raw []byte) string {
	raw = objectBytes(raw)
	return unsafe.String(unsafe.SliceData(raw), len(raw))
}

var emptyObject = []byte("{}")

// objectBytes is raw, or "{}" when absent or not an object.
func objectBytes(raw []byte) []byte {
	if len(raw) == 0 || raw[0] != '{' {
		return emptyObject
	}
	return raw
}

// tableOf is the core table of an event's call type.
func tableOf(t schemas.Type) string {
	switch t {
	case schemas.Track:
		return tableTracks
	case schemas.Identify:
		return tableIdentifies
	case schemas.Page:
		return tablePages
	case schemas.Screen:
		return tableScreens
	case schemas.Group:
		return tableGroups
	case schemas.Alias:
		return tableAliases
	}
	return ""
}

// typedRows collects the rows of one typed table for one schema.
type typedRows struct {
	base *coreRows
	bufs []typedBuf
	idx  map[string]int // property name → bufs index
}

func newTypedRows(l *layout, n int) *typedRows {
	r := &typedRows{base: newCoreRows(typedBase, n), idx: make(map[string]int, len(l.fields))}
	for i := range l.fields {
		r.bufs = append(r.bufs, typedBuf{tc: &l.fields[i]})
		r.idx[l.fields[i].json] = i
	}
	return r
}

// add appends one event's row: the base columns, then each field's value
// (its default when absent).
func (r *typedRows) add(e *schemas.Event, p *protocols, src source, offset int64) {
	r.base.add(e, p, src, offset)
	vals := make([]gjson.Result, len(r.bufs))
	if len(e.Properties) > 0 {
		gjson.ParseBytes(e.Properties).ForEach(func(k, v gjson.Result) bool {
			if i, ok := r.idx[k.Str]; ok {
				vals[i] = v
			}
			return true
		})
	}
	for i := range r.bufs {
		r.bufs[i].add(vals[i])
	}
}

// batchOffsets returns the offsets of the chosen events of b.
func batchOffsets(b *sinks.Batch, rows []int) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = b.Offsets[r]
	}
	return out
}
