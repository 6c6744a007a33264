package validate

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/sluicehq/sluice/schemas/jsonscan"
	"github.com/sluicehq/sluice/schemas/plan"
)

// parseFloat parses a JSON number already checked by the scanner.
func parseFloat(b []byte) (float64, bool) {
	// ParseFloat neither keeps nor changes its argument: viewing the bytes as
	// a string saves a copy per number.
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	return f, err == nil
}

// integer checks int and long, and the date, time and timestamp logical
// types, which also take ISO-8601 strings.
func (w *walker) integer(n *node, class int, v *Value) bool {
	start := w.Pos
	var i int64
	switch class {
	case cNumber:
		num, fault := w.Number()
		if fault != jsonscan.NoFault {
			return w.fail(fault)
		}
		i = num.Int
		if !num.Fits {
			f, okf := parseFloat(w.Buf[start:w.Pos])
			if !okf || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
				return w.misfit(n, start, DatatypeMismatch)
			}
			i = int64(f)
		}
		if n.kind == plan.Int && (i < math.MinInt32 || i > math.MaxInt32) {
			return w.misfit(n, start, DatatypeMismatch)
		}
	case cString:
		raw, esc, f := w.String()
		if f != jsonscan.NoFault {
			return w.fail(f)
		}
		if esc {
			w.r.tmp = jsonscan.AppendUnescaped(w.r.tmp[:0], raw)
			raw = w.r.tmp
		}
		var ok bool
		if i, ok = parseLogical(n.logical, raw); !ok {
			return w.misfit(n, start, DatatypeMismatch)
		}
	default:
		return w.mismatch(n, DatatypeMismatch)
	}
	if v != nil {
		v.Int, v.Float = i, float64(i)
	}
	return true
}

// parseLogical converts the text form of a date, time or timestamp.
func parseLogical(l logical, s []byte) (int64, bool) {
	switch l {
	case lDate:
		days, ok := parseDate(s)
		return days, ok && days >= math.MinInt32 && days <= math.MaxInt32
	case lTimeMillis:
		ns, ok := parseTimeOfDay(s)
		return ns / 1e6, ok
	case lTimeMicros:
		ns, ok := parseTimeOfDay(s)
		return ns / 1e3, ok
	case lTimestampMillis:
		sec, nsec, ok := parseTimestamp(s)
		return sec*1000 + int64(nsec)/1e6, ok
	case lTimestampMicros:
		sec, nsec, ok := parseTimestamp(s)
		return sec*1e6 + int64(nsec)/1e3, ok
	}
	return 0, false
}

// float checks float and double: any JSON number, within float32 range
// for float and finite for both.
func (w *walker) float(n *node, class int, v *Value) bool {
	if class != cNumber {
		return w.mismatch(n, DatatypeMismatch)
	}
	start := w.Pos
	num, fault := w.Number()
	if fault != jsonscan.NoFault {
		return w.fail(fault)
	}
	if num.Fits && num.Int > -(1<<53) && num.Int < 1<<53 {
		if v != nil {
			v.Float = float64(num.Int)
		}
		return true
	}
	// Only long literals and exponents can leave the range: parse those,
	// and decimals when the warehouse wants the value.
	raw := w.Buf[start:w.Pos]
	needRange := len(raw) > 30 || num.Exp
	if !needRange && v == nil {
		return true
	}
	f, okf := parseFloat(raw)
	if !okf || (n.kind == plan.Float && math.Abs(f) > math.MaxFloat32) {
		return w.misfit(n, start, DatatypeMismatch)
	}
	if v != nil {
		v.Float = f
	}
	return true
}

// text checks string, bytes and fixed, and their logical types: uuid, and
// decimal, which also takes a JSON number.
func (w *walker) text(n *node, class int, v *Value) bool {
	start := w.Pos
	if class == cNumber && n.logical == lDecimal {
		if _, f := w.Number(); f != jsonscan.NoFault {
			return w.fail(f)
		}
		if !decimalFits(w.Buf[start:w.Pos], n.prec, n.scale) {
			return w.misfit(n, start, DatatypeMismatch)
		}
		return true
	}
	if class != cString {
		return w.mismatch(n, DatatypeMismatch)
	}
	raw, esc, f := w.String()
	if f != jsonscan.NoFault {
		return w.fail(f)
	}
	if n.logical == lNone && n.kind != plan.Fixed {
		return true
	}
	if esc {
		w.r.tmp = jsonscan.AppendUnescaped(w.r.tmp[:0], raw)
		raw = w.r.tmp
	}
	switch {
	case n.logical == lUUID && !isUUID(raw),
		n.logical == lDecimal && !decimalFits(raw, n.prec, n.scale),
		n.kind == plan.Fixed && n.logical != lDecimal && utf8.RuneCount(raw) != n.size:
		return w.misfit(n, start, DatatypeMismatch)
	}
	return true
}

// enum checks that a string is one of the symbols; Int gets its index.
func (w *walker) enum(n *node, class int, v *Value) bool {
	if class != cString {
		return w.mismatch(n, DatatypeMismatch)
	}
	start := w.Pos
	raw, esc, f := w.String()
	if f != jsonscan.NoFault {
		return w.fail(f)
	}
	if esc {
		w.r.tmp = jsonscan.AppendUnescaped(w.r.tmp[:0], raw)
		raw = w.r.tmp
	}
	for i, s := range n.symbols {
		if s == string(raw) {
			if v != nil {
				v.Int = int64(i)
			}
			return true
		}
	}
	return w.misfit(n, start, EnumMismatch)
}

// isUUID checks the 8-4-4-4-12 hexadecimal form.
func isUUID(s []byte) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// decimalFits checks a plain decimal number (no exponent) against a
// precision (total digits) and scale (digits after the point): at most
// precision-scale digits before the point and scale after it.
func decimalFits(s []byte, prec, scale int) bool {
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	whole, frac, seenDot, digits := 0, 0, false, false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits = true
			switch {
			case seenDot:
				frac++
			case whole > 0 || c != '0':
				whole++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			return false
		}
	}
	return digits && frac <= scale && whole <= prec-scale
}
