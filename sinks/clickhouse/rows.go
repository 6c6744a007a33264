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
		case fMessageID:
			b.strs = append(b.strs, e.MessageID)
		case fWorkspace:
			b.strs = append(b.strs, e.Workspace)
		case fSource:
			b.strs = append(b.strs, e.Source)
		case fUserID:
			b.strs = append(b.strs, e.UserID)
		case fAnonymousID:
			b.strs = append(b.strs, e.AnonymousID)
		case fEvent:
			b.strs = append(b.strs, e.Event)
		case fName:
			b.strs = append(b.strs, e.Name)
		case fCategory:
			b.strs = append(b.strs, e.Category)
		case fGroupID:
			b.strs = append(b.strs, e.GroupID)
		case fPreviousID:
			b.strs = append(b.strs, e.PreviousID)
		case fTimestamp:
			b.times = append(b.times, e.Timestamp)
		case fOriginalTimestamp:
			b.nulls = append(b.nulls, timeOrNil(&e.OriginalTimestamp))
		case fSentAt:
			b.nulls = append(b.nulls, timeOrNil(&e.SentAt))
		case fReceivedAt:
			b.times = append(b.times, e.ReceivedAt)
		case fContext:
			b.strs = append(b.strs, object(e.Context))
		case fProperties:
			b.strs = append(b.strs, object(e.Properties))
		case fTraits:
			b.strs = append(b.strs, object(e.Traits))
		case fPlan:
			b.strs = append(b.strs, p.plan)
		case fPlanVersion:
			b.u32 = append(b.u32, p.planVersion)
		case fEventVersion:
			b.u32 = append(b.u32, p.eventVersion)
		case fTopic:
			b.strs = append(b.strs, src.topic)
		case fPartition:
			b.i32 = append(b.i32, src.partition)
		case fOffset:
			b.i64 = append(b.i64, offset)
		}
	}
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
	if len(raw) == 0 || raw[0] != '{' {
		return "{}"
	}
	return unsafe.String(unsafe.SliceData(raw), len(raw))
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
