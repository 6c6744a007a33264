package schemas

import "github.com/sluicehq/sluice/schemas/jsonscan"

// Member returns the raw value of the last top-level member named key of
// the JSON object obj (as the decoders validated it), and whether there is one.
func Member(obj []byte, key string) ([]byte, bool) {
	if len(obj) == 0 || obj[0] != '{' {
		return nil, false
	}
	vs, ve, found, _, err := jsonscan.LastMember(obj, 0, key)
	if err != nil || !found {
		return nil, false
	}
	return obj[vs:ve], true
}

// MemberString returns the top-level member key of obj when it is a string,
// decoded.
func MemberString(obj []byte, key string) (string, bool) {
	raw, ok := Member(obj, key)
	if !ok || len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	return string(jsonscan.AppendUnescaped(nil, raw[1:len(raw)-1])), true
}

// SetMember returns a new object: obj (a valid JSON object, or empty for
// none) without its members named key, then "key": value (valid JSON). obj
// is not changed.
func SetMember(obj []byte, key string, value []byte) []byte {
	out := make([]byte, 0, len(obj)+len(key)+len(value)+8)
	out = append(out, '{')
	members := 0
	if len(obj) > 0 && obj[0] == '{' {
		s := jsonscan.Scanner{Buf: obj, Pos: 1}
		s.SkipSpace()
		for s.Pos < len(obj) && obj[s.Pos] != '}' {
			from := s.Pos
			raw, escaped, f := s.Key()
			if f != jsonscan.NoFault {
				break
			}
			s.SkipSpace()
			if s.Value(1) != jsonscan.NoFault {
				break
			}
			m := jsonscan.Member{Key: raw, Escaped: escaped}
			if !m.Is(key) {
				if members > 0 {
					out = append(out, ',')
				}
				out = append(out, obj[from:s.Pos]...)
				members++
			}
			if more, _ := s.Next('}'); !more {
				break
			}
			s.SkipSpace()
		}
	}
	if members > 0 {
		out = append(out, ',')
	}
	out = appendString(out, key)
	out = append(out, ':')
	out = append(out, value...)
	return append(out, '}')
}

// stringsOf returns the strings of a JSON array, skipping other values.
func stringsOf(arr []byte) []string {
	if len(arr) == 0 || arr[0] != '[' {
		return nil
	}
	var out []string
	s := jsonscan.Scanner{Buf: arr, Pos: 1}
	for {
		s.SkipSpace()
		if s.Pos >= len(arr) || arr[s.Pos] == ']' {
			return out
		}
		start := s.Pos
		if s.Value(0) != jsonscan.NoFault {
			return out
		}
		if arr[start] == '"' {
			out = append(out, string(jsonscan.AppendUnescaped(nil, arr[start+1:s.Pos-1])))
		}
		if more, _ := s.Next(']'); !more {
			return out
		}
	}
}
