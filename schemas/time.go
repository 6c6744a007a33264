package schemas

import "time"

// parseTime reads an ISO-8601 / RFC 3339 date-time:
// YYYY-MM-DDTHH:MM:SS, optional fraction (any number of digits, kept to the
// nanosecond), then Z or an offset ±HH:MM, ±HHMM or ±HH. Sub-nanosecond
// digits are dropped. It is written by hand because time.Parse is a fifth of
// the cost of decoding an events.raw value.
func parseTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') ||
		b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if b[i] == '.' || b[i] == ',' {
		i++
		start := i
		scale := 100_000_000
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start {
			return time.Time{}, false
		}
	}
	if i >= len(b) {
		return time.Time{}, false
	}
	offset := 0
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		sign := 1
		if b[i] == '-' {
			sign = -1
		}
		rest := b[i+1:]
		var hh, mm int
		var ok, okm bool
		switch {
		case len(rest) == 5 && rest[2] == ':':
			hh, ok = digits(rest[0:2])
			mm, okm = digits(rest[3:5])
		case len(rest) == 4:
			hh, ok = digits(rest[0:2])
			mm, okm = digits(rest[2:4])
		case len(rest) == 2:
			hh, ok = digits(rest)
			okm = true
		}
		if !ok || !okm || hh > 23 || mm > 59 {
			return time.Time{}, false
		}
		offset = sign * (hh*3600 + mm*60)
		i = len(b)
	default:
		return time.Time{}, false
	}
	if i != len(b) {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if offset != 0 {
		t = t.Add(-time.Duration(offset) * time.Second)
	}
	return t, true
}

func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// appendTime appends t in UTC as RFC 3339 with as many fraction digits as it
// needs (none, 3, 6 or 9), the shape JavaScript and Segment write.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	hour, minute, sec := t.Clock()
	dst = append4(dst, year)
	dst = append(dst, '-')
	dst = append2(dst, int(month))
	dst = append(dst, '-')
	dst = append2(dst, day)
	dst = append(dst, 'T')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, minute)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	if ns := t.Nanosecond(); ns != 0 {
		dst = append(dst, '.')
		switch {
		case ns%1_000_000 == 0:
			dst = append3(dst, ns/1_000_000)
		case ns%1_000 == 0:
			dst = append3(dst, ns/1_000_000)
			dst = append3(dst, ns/1_000%1_000)
		default:
			dst = append3(dst, ns/1_000_000)
			dst = append3(dst, ns/1_000%1_000)
			dst = append3(dst, ns%1_000)
		}
	}
	return append(dst, 'Z')
}

func append2(dst []byte, n int) []byte { return append(dst, byte('0'+n/10), byte('0'+n%10)) }

func append3(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10))
}

func append4(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}
