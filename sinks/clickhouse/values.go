package clickhouse

import (
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
)

// typedBuf collects one typed column's values for one insert. A value that
// does not fit the column's type becomes NULL (an empty array or map, an
// empty object), so that one odd value never fails a batch: the raw value
// stays in tracks.properties.
//
// Nullable values are pointers: clickhouse-go v2.50.0 appends sql.Null*
// slices to Nullable columns as zero values, not NULLs.
type typedBuf struct {
	tc    *typedColumn
	bools []*bool
	ints  []*int64
	flts  []*float64
	strs  []*string // string, text, enum and UUID columns
	times []*time.Time
	decs  []*decimal.Decimal
	objs  []string
	arrs  any // [][]bool, [][]int64, [][]float64 or [][]string
	maps  any // []map[string]bool, ...int64, ...float64, ...string
}

// add appends the value v (absent when !v.Exists(); the field's default
// then applies).
func (b *typedBuf) add(v gjson.Result) {
	tc := b.tc
	if !v.Exists() && tc.hasDef {
		v = tc.def
	}
	switch tc.kind {
	case kBool:
		var p *bool
		if v.Type == gjson.True || v.Type == gjson.False {
			p = ptr(v.Type == gjson.True)
		}
		b.bools = append(b.bools, p)
	case kInt, kTimeMilli, kTimeMicro:
		n, ok := toInt(v)
		if !ok && v.Type == gjson.String && tc.kind != kInt {
			n, ok = parseTimeOfDay(v.Str, tc.kind == kTimeMicro)
		}
		b.ints = append(b.ints, ptrIf(n, ok))
	case kFloat:
		ok := v.Type == gjson.Number && !math.IsInf(v.Num, 0) && !math.IsNaN(v.Num)
		b.flts = append(b.flts, ptrIf(v.Num, ok))
	case kString, kEnum:
		b.strs = append(b.strs, ptrIf(v.Str, v.Type == gjson.String))
	case kText:
		var p *string
		switch v.Type {
		case gjson.String:
			p = ptr(v.Str)
		case gjson.Null:
		default:
			if v.Exists() {
				p = ptr(v.Raw)
			}
		}
		b.strs = append(b.strs, p)
	case kUUID:
		var p *string
		if v.Type == gjson.String {
			if u, err := uuid.Parse(v.Str); err == nil && len(v.Str) == 36 {
				p = ptr(u.String())
			}
		}
		b.strs = append(b.strs, p)
	case kDate:
		var p *time.Time
		if n, ok := toInt(v); ok && n >= -25567 && n <= 120529 { // Date32's range: 1900-01-01 to 2299-12-31
			p = ptr(time.Unix(n*86400, 0).UTC())
		} else if v.Type == gjson.String {
			if t, err := time.Parse(time.DateOnly, v.Str); err == nil {
				p = &t
			}
		}
		b.times = append(b.times, p)
	case kTSMilli, kTSMicro:
		var p *time.Time
		if n, ok := toInt(v); ok {
			if tc.kind == kTSMilli {
				p = ptr(time.UnixMilli(n).UTC())
			} else {
				p = ptr(time.UnixMicro(n).UTC())
			}
		} else if v.Type == gjson.String {
			if t, ok := parseTimestamp(v.Str); ok {
				p = &t
			}
		}
		if p != nil && (p.Year() < 1900 || p.Year() > 2299) { // DateTime64's range
			p = nil
		}
		b.times = append(b.times, p)
	case kDecimal:
		var p *decimal.Decimal
		var text string
		switch v.Type {
		case gjson.Number:
			text = v.Raw
		case gjson.String:
			text = v.Str
		}
		if text != "" {
			if d, err := decimal.NewFromString(text); err == nil && fitsDecimal(d, tc.precision, tc.scale) {
				p = &d
			}
		}
		b.decs = append(b.decs, p)
	case kObject:
		s := "{}"
		if v.IsObject() {
			s = v.Raw
		}
		b.objs = append(b.objs, s)
	case kArray:
		b.addArray(v)
	case kMap:
		b.addMap(v)
	}
}

func (b *typedBuf) addArray(v gjson.Result) {
	items := v.Array()
	if !v.IsArray() {
		items = nil
	}
	switch b.tc.elem {
	case kBool:
		out := make([]bool, 0, len(items))
		for _, it := range items {
			if it.Type != gjson.True && it.Type != gjson.False {
				out = out[:0]
				break
			}
			out = append(out, it.Type == gjson.True)
		}
		b.arrs = append(asSlice[[]bool](b.arrs), out)
	case kInt:
		out := make([]int64, 0, len(items))
		for _, it := range items {
			n, ok := toInt(it)
			if !ok {
				out = out[:0]
				break
			}
			out = append(out, n)
		}
		b.arrs = append(asSlice[[]int64](b.arrs), out)
	case kFloat:
		out := make([]float64, 0, len(items))
		for _, it := range items {
			if it.Type != gjson.Number {
				out = out[:0]
				break
			}
			out = append(out, it.Num)
		}
		b.arrs = append(asSlice[[]float64](b.arrs), out)
	default:
		out := make([]string, 0, len(items))
		for _, it := range items {
			if it.Type != gjson.String {
				out = out[:0]
				break
			}
			out = append(out, it.Str)
		}
		b.arrs = append(asSlice[[]string](b.arrs), out)
	}
}

func (b *typedBuf) addMap(v gjson.Result) {
	ok := v.IsObject()
	switch b.tc.elem {
	case kBool:
		out := map[string]bool{}
		v.ForEach(func(k, it gjson.Result) bool {
			ok = ok && (it.Type == gjson.True || it.Type == gjson.False)
			out[k.Str] = it.Type == gjson.True
			return ok
		})
		if !ok {
			clear(out)
		}
		b.maps = append(asSlice[map[string]bool](b.maps), out)
	case kInt:
		out := map[string]int64{}
		v.ForEach(func(k, it gjson.Result) bool {
			n, fits := toInt(it)
			ok = ok && fits
			out[k.Str] = n
			return ok
		})
		if !ok {
			clear(out)
		}
		b.maps = append(asSlice[map[string]int64](b.maps), out)
	case kFloat:
		out := map[string]float64{}
		v.ForEach(func(k, it gjson.Result) bool {
			ok = ok && it.Type == gjson.Number
			out[k.Str] = it.Num
			return ok
		})
		if !ok {
			clear(out)
		}
		b.maps = append(asSlice[map[string]float64](b.maps), out)
	default:
		out := map[string]string{}
		v.ForEach(func(k, it gjson.Result) bool {
			ok = ok && it.Type == gjson.String
			out[k.Str] = it.Str
			return ok
		})
		if !ok {
			clear(out)
		}
		b.maps = append(asSlice[map[string]string](b.maps), out)
	}
}

// asSlice returns the typed slice held in an any, nil if none yet.
func asSlice[T any](v any) []T {
	s, _ := v.([]T)
	return s
}

// values is the column's values for BatchColumn.Append.
func (b *typedBuf) values() any {
	switch b.tc.kind {
	case kBool:
		return b.bools
	case kInt, kTimeMilli, kTimeMicro:
		return b.ints
	case kFloat:
		return b.flts
	case kString, kText, kEnum, kUUID:
		return b.strs
	case kDate, kTSMilli, kTSMicro:
		return b.times
	case kDecimal:
		return b.decs
	case kObject:
		return b.objs
	case kArray:
		return b.arrs
	case kMap:
		return b.maps
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// ptrIf returns &v when ok, else nil.
func ptrIf[T any](v T, ok bool) *T {
	if !ok {
		return nil
	}
	return &v
}

// toInt reads an integral JSON number (3, 3.0, 3e0) within int64.
func toInt(v gjson.Result) (int64, bool) {
	if v.Type != gjson.Number {
		return 0, false
	}
	if n, err := strconv.ParseInt(v.Raw, 10, 64); err == nil {
		return n, true
	}
	f := v.Num
	if f != math.Trunc(f) || f < -9.2e18 || f > 9.2e18 {
		return 0, false
	}
	return int64(f), true
}

// timestampLayouts are the ISO-8601 forms a timestamp string may take, as
// the tracking-plan validator accepts them: "T" or a space, with or without
// fractions and zone (none meaning UTC), or a bare date (midnight UTC).
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	time.DateOnly,
}

// parseTimestamp reads an ISO-8601 date-time as UTC.
func parseTimestamp(s string) (time.Time, bool) {
	for _, layout := range timestampLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// parseTimeOfDay reads "HH:MM:SS[.fff…]" as ms (or µs) after midnight.
func parseTimeOfDay(s string, micros bool) (int64, bool) {
	t, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return 0, false
	}
	d := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond())
	if micros {
		return d.Microseconds(), true
	}
	return d.Milliseconds(), true
}

// fitsDecimal reports whether d fits Decimal(precision, scale) without
// losing digits.
func fitsDecimal(d decimal.Decimal, precision, scale int) bool {
	if d.Exponent() < -int32(scale) && !d.Equal(d.Truncate(int32(scale))) {
		return false
	}
	intDigits := len(d.Truncate(0).Abs().String())
	if d.Truncate(0).IsZero() {
		intDigits = 0
	}
	return intDigits <= precision-scale
}
