package jsonscan

import "strconv"

// Num is what scanning a number learnt of it.
type Num struct {
	// Int is the number's value when Fits.
	Int int64
	// Integral says it has neither fraction nor exponent; Fits that it is
	// integral and within int64.
	Integral, Fits bool
	// Exp says it has an exponent.
	Exp bool
}

// Number reads the number at Pos. Under Strict rules an integer must fit in
// int64 and any other number in float64 (the fault is then at the number).
func (s *Scanner) Number() (n Num, f Fault) {
	b, i := s.Buf, s.Pos
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	first := i
	var u uint64
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for ; i < len(b) && isDigit(b[i]); i++ {
			u = u*10 + uint64(b[i]-'0') // wraps only past 19 digits, which never fit
		}
	default:
		s.Pos = i
		return n, BadNumber
	}
	n.Integral = true
	n.Fits = i-first <= 19 && (u <= 1<<63-1 || neg && u == 1<<63)
	ok := true
	if i < len(b) && b[i] == '.' {
		n.Integral, n.Fits = false, false
		i, ok = digits(b, i+1)
	}
	if ok && i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		n.Integral, n.Fits, n.Exp = false, false, true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		i, ok = digits(b, i)
	}
	if !ok {
		s.Pos = i
		return n, BadNumber
	}
	if n.Fits {
		n.Int = int64(u)
		if neg {
			n.Int = -n.Int
		}
	}
	if s.Strict && !inRange(b[s.Pos:i], n, s.WideInts) {
		if n.Integral && !s.WideInts {
			return n, IntRange
		}
		return n, FloatRange
	}
	s.Pos = i
	return n, NoFault
}

// digits returns the end of the run of digits at b[i], and false if the run
// is empty.
func digits(b []byte, i int) (int, bool) {
	j := i
	for j < len(b) && isDigit(b[j]) {
		j++
	}
	return j, j > i
}

// inRange reports whether the number text, read as n, keeps to Strict rules
// (wide: integers held to float64's range rather than int64's).
func inRange(text []byte, n Num, wide bool) bool {
	if n.Integral && (n.Fits || !wide) {
		return n.Fits
	}
	// Without an exponent a number overflows float64 only past 308 digits.
	if !n.Exp && len(text) < 300 {
		return true
	}
	_, err := strconv.ParseFloat(string(text), 64)
	return err == nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
