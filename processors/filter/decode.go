package filter

import (
	"fmt"
	"strconv"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// decodeObject decodes a raw JSON object into the map an expression reads,
// as encoding/json would into map[string]any (numbers as float64, the last
// of repeated keys winning) with the scanner, without
// reflection: one pass validates, one decodes. Absent or null input gives
// nil.
func decodeObject(doc []byte) (map[string]any, error) {
	start, _, ok, err := jsonscan.OnlyValue(doc)
	if err != nil || !ok {
		return nil, err
	}
	if doc[start] != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	v, _, err := decodeValue(doc, start)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// decodeValue decodes the JSON value at b[i], which jsonscan.OnlyValue has validated
// (so it only checks what validation does not: number range), and returns
// its end.
func decodeValue(b []byte, i int) (any, int, error) {
	switch c := b[i]; {
	case c == '{':
		m := map[string]any{}
		i = jsonscan.SkipSpace(b, i+1)
		if b[i] == '}' {
			return m, i + 1, nil
		}
		for {
			kend, escaped, _ := jsonscan.SkipString(b, i)
			key := jsonscan.Member{Key: b[i+1 : kend-1], Escaped: escaped}.Name()
			i = jsonscan.SkipSpace(b, jsonscan.SkipSpace(b, kend)+1) // past the colon
			v, end, err := decodeValue(b, i)
			if err != nil {
				return nil, 0, err
			}
			m[key] = v
			i = jsonscan.SkipSpace(b, end)
			if b[i] == '}' {
				return m, i + 1, nil
			}
			i = jsonscan.SkipSpace(b, i+1) // past the comma
		}
	case c == '[':
		a := []any{}
		i = jsonscan.SkipSpace(b, i+1)
		if b[i] == ']' {
			return a, i + 1, nil
		}
		for {
			v, end, err := decodeValue(b, i)
			if err != nil {
				return nil, 0, err
			}
			a = append(a, v)
			i = jsonscan.SkipSpace(b, end)
			if b[i] == ']' {
				return a, i + 1, nil
			}
			i = jsonscan.SkipSpace(b, i+1) // past the comma
		}
	case c == '"':
		end, escaped, _ := jsonscan.SkipString(b, i)
		return jsonscan.Member{Key: b[i+1 : end-1], Escaped: escaped}.Name(), end, nil
	case c == 't':
		return true, i + 4, nil
	case c == 'f':
		return false, i + 5, nil
	case c == 'n':
		return nil, i + 4, nil
	default:
		end, _ := jsonscan.SkipNumber(b, i)
		f, err := strconv.ParseFloat(string(b[i:end]), 64)
		if err != nil {
			return nil, 0, fmt.Errorf("number %s: %w", b[i:end], err)
		}
		return f, end, nil
	}
}
