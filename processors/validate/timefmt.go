package validate

// The text forms of dates, times and timestamps, parsed by hand: time.Parse
// allocates and accepts only one layout per call.

// parseDate parses YYYY-MM-DD into days since 1970-01-01.
func parseDate(s []byte) (int64, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return daysFromCivil(y, m, d), true
}

// parseTimeOfDay parses HH:MM[:SS[.fraction]] into nanoseconds after midnight.
func parseTimeOfDay(s []byte) (int64, bool) {
	ns, rest, ok := clock(s)
	return ns, ok && len(rest) == 0
}

// parseTimestamp parses ISO-8601 / RFC 3339 date-times:
// YYYY-MM-DD, or YYYY-MM-DD(T| )HH:MM[:SS[.fraction]] followed by Z, ±HH:MM,
// ±HHMM, ±HH or nothing (UTC). It returns Unix seconds and nanoseconds.
func parseTimestamp(s []byte) (sec int64, nsec int32, ok bool) {
	if len(s) < 10 {
		return 0, 0, false
	}
	days, ok := parseDate(s[:10])
	if !ok {
		return 0, 0, false
	}
	sec = days * 86400
	if len(s) == 10 {
		return sec, 0, true
	}
	if s[10] != 'T' && s[10] != 't' && s[10] != ' ' {
		return 0, 0, false
	}
	ns, rest, ok := clock(s[11:])
	if !ok {
		return 0, 0, false
	}
	sec += ns / 1e9
	nsec = int32(ns % 1e9)
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case rest[0] == '+' || rest[0] == '-':
		off, ok := zoneOffset(rest[1:])
		if !ok {
			return 0, 0, false
		}
		if rest[0] == '+' {
			off = -off
		}
		sec += off
	default:
		return 0, 0, false
	}
	return sec, nsec, true
}

// clock parses HH:MM[:SS[.fraction]] and returns the rest of s.
func clock(s []byte) (ns int64, rest []byte, ok bool) {
	if len(s) < 5 || s[2] != ':' {
		return 0, nil, false
	}
	h, ok1 := digits(s[0:2])
	m, ok2 := digits(s[3:5])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, nil, false
	}
	ns = (int64(h)*3600 + int64(m)*60) * 1e9
	s = s[5:]
	if len(s) >= 3 && s[0] == ':' {
		sec, ok := digits(s[1:3])
		if !ok || sec > 59 {
			return 0, nil, false
		}
		ns += int64(sec) * 1e9
		s = s[3:]
		if len(s) > 0 && (s[0] == '.' || s[0] == ',') {
			i := 1
			scale := int64(1e8)
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				ns += int64(s[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == 1 {
				return 0, nil, false
			}
			s = s[i:]
		}
	}
	return ns, s, true
}

// zoneOffset parses HH:MM, HHMM or HH into seconds.
func zoneOffset(s []byte) (int64, bool) {
	var h, m int
	var ok1, ok2 bool
	switch len(s) {
	case 2:
		h, ok1 = digits(s)
		ok2 = true
	case 4:
		h, ok1 = digits(s[:2])
		m, ok2 = digits(s[2:])
	case 5:
		if s[2] != ':' {
			return 0, false
		}
		h, ok1 = digits(s[:2])
		m, ok2 = digits(s[3:])
	default:
		return 0, false
	}
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	return int64(h)*3600 + int64(m)*60, true
}

func digits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to y-m-d (proleptic Gregorian),
// after Howard Hinnant's algorithm.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
