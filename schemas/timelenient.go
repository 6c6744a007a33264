package schemas

import (
	"math"
	"strconv"
	"time"
)

// The forms Segment's tracking API accepts beyond RFC 3339, read by
// parseTimeLenient; the decoder notes on the event how it read each one.

// parseTimeLenient reads a date-time parseTime refuses: ISO-8601 with one-
// digit months, days or hours (2015-2-02T0:30:08.276Z), a space instead of
// T, no seconds, no zone (UTC), a date alone (midnight UTC); an epoch in
// seconds or milliseconds written as digits (see epochTime); or the forms
// JavaScript's Date prints (toUTCString, toString). how says what was
// assumed, "" when nothing was.
func parseTimeLenient(b []byte) (t time.Time, how string, ok bool) {
	if t, how, ok := parseISOLoose(b); ok {
		return t, how, true
	}
	if isDigits(b) {
		if v, err := strconv.ParseFloat(string(b), 64); err == nil {
			return epochTime(v)
		}
	}
	for _, layout := range jsDateLayouts {
		if t, err := time.Parse(layout, string(b)); err == nil && t.Year() >= 0 && t.Year() <= 9999 {
			return t.UTC(), "", true
		}
	}
	return time.Time{}, "", false
}

// jsDateLayouts are Date.prototype.toUTCString's and toString's forms (the
// zone's name in parentheses after toString's offset is cut off first).
var jsDateLayouts = []string{
	time.RFC1123, // Mon, 02 Jan 2006 15:04:05 GMT
	time.RFC1123Z,
	"Mon Jan 02 2006 15:04:05 GMT-0700",
	"Mon Jan 02 2006 15:04:05 GMT-0700 (MST)",
}

// epochTime reads v as seconds since the Unix epoch when it is below 1e11
// (before the year 5138), else as milliseconds, as JavaScript's Date.
func epochTime(v float64) (time.Time, string, bool) {
	if math.IsNaN(v) || v < 0 || v > 253402300799999 { // 9999-12-31T23:59:59.999Z in ms
		return time.Time{}, "", false
	}
	if v < 1e11 {
		sec, frac := math.Modf(v)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), " (seconds since the epoch)", true
	}
	ms := int64(math.Round(v))
	return time.UnixMilli(ms).UTC(), " (milliseconds since the epoch)", true
}

func isDigits(b []byte) bool {
	if len(b) == 0 || len(b) > 20 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseISOLoose reads YYYY-M-D, then optionally [T ]H:MM[:SS[.frac]] and
// optionally a zone (Z, ±HH, ±HHMM, ±HH:MM); without a zone it is UTC.
func parseISOLoose(b []byte) (time.Time, string, bool) {
	i := 0
	num := func(min, max int) (int, bool) {
		start := i
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < max {
			n = n*10 + int(b[i]-'0')
			i++
		}
		return n, i-start >= min
	}
	sep := func(c byte) bool {
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	year, ok := num(4, 4)
	if !ok || !sep('-') {
		return time.Time{}, "", false
	}
	month, ok1 := num(1, 2)
	if !ok1 || !sep('-') {
		return time.Time{}, "", false
	}
	day, ok2 := num(1, 2)
	if !ok2 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) {
		return time.Time{}, "", false
	}
	if i == len(b) {
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), " (a date alone: midnight UTC)", true
	}
	if b[i] != 'T' && b[i] != 't' && b[i] != ' ' {
		return time.Time{}, "", false
	}
	i++
	hour, ok3 := num(1, 2)
	if !ok3 || !sep(':') {
		return time.Time{}, "", false
	}
	minute, ok4 := num(2, 2)
	if !ok4 || hour > 23 || minute > 59 {
		return time.Time{}, "", false
	}
	sec, nsec := 0, 0
	if sep(':') {
		var ok bool
		if sec, ok = num(2, 2); !ok || sec > 59 {
			return time.Time{}, "", false
		}
		if i < len(b) && (b[i] == '.' || b[i] == ',') {
			i++
			start, scale := i, 100_000_000
			for i < len(b) && b[i] >= '0' && b[i] <= '9' {
				nsec += int(b[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == start {
				return time.Time{}, "", false
			}
		}
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if i == len(b) {
		return t, " (no zone: UTC)", true
	}
	switch b[i] {
	case 'Z', 'z':
		if i+1 == len(b) {
			return t, "", true
		}
	case '+', '-':
		sign := 1
		if b[i] == '-' {
			sign = -1
		}
		i++
		hh, ok := num(2, 2)
		if !ok || hh > 23 {
			return time.Time{}, "", false
		}
		mm := 0
		if colon := sep(':'); colon || i < len(b) {
			if mm, ok = num(2, 2); !ok || mm > 59 {
				return time.Time{}, "", false
			}
		}
		if i == len(b) {
			return t.Add(-time.Duration(sign*(hh*3600+mm*60)) * time.Second), "", true
		}
	}
	return time.Time{}, "", false
}
