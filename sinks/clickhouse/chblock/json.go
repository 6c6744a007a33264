package chblock

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/schemas/jsonscan"
)

// The JSON column's serialization: object version 3, whose dynamic paths
// hold Dynamic columns written flat (version 3: the types, each row's
// discriminator, then each type's values).
const (
	objectVersion  = 3
	dynamicVersion = 3
	// The server's defaults for a JSON column that names no limits.
	defaultMaxPaths = 1024
	defaultMaxTypes = 32
	// maxDepth bounds the nesting this encoder follows; deeper objects are
	// declined.
	maxDepth = 32
)

// kind is the stored type of one value. The order is the types' names in
// byte order, which is also the order they are written in.
type kind uint8

const (
	kArrJSON kind = iota
	kArrBool
	kArrFloat
	kArrInt
	kArrString
	kBool
	kFloat
	kInt
	kString
	nKinds
	kNull kind = 0xff // a row without a value at the path
)

// typeName is the ClickHouse type the server infers for a kind; arrays of
// objects take the limits of the column they are in, halved and quartered.
func typeName(k kind, maxTypes, maxPaths int) string {
	switch k {
	case kArrJSON:
		return "Array(" + nestedJSONType(maxTypes, maxPaths) + ")"
	case kArrBool:
		return "Array(Nullable(Bool))"
	case kArrFloat:
		return "Array(Nullable(Float64))"
	case kArrInt:
		return "Array(Nullable(Int64))"
	case kArrString:
		return "Array(Nullable(String))"
	case kBool:
		return "Bool"
	case kFloat:
		return "Float64"
	case kInt:
		return "Int64"
	}
	return "String"
}

// nestedJSONType is the type of the objects in an array of objects inside a
// JSON column with these limits.
func nestedJSONType(maxTypes, maxPaths int) string {
	return "JSON(max_dynamic_types=" + strconv.Itoa(maxTypes/2) + ", max_dynamic_paths=" + strconv.Itoa(maxPaths/4) + ")"
}

// JSON is a JSON column written in the engine's object serialization.
//
// The server, parsing JSON text, types a path's value as follows, and so
// does Append: a string is String, a boolean Bool, an integer within int64
// Int64, any other number Float64; null and empty objects store nothing; an
// object's members are paths joined with dots, a dot inside a key escaped
// as %2E (json_type_escape_dots_in_keys = 1, which every insert of such a
// column must set); a Nullable(String) typed path is NULL where a row has
// no string (absent or null); an array of strings, of
// integers, of numbers or of booleans (nulls allowed, an empty array
// counting as strings) is an Array(Nullable(T)), and an array of objects an
// Array(JSON) with smaller limits. Anything else (mixed or nested arrays,
// integers beyond int64, a path written twice, a typed path holding
// anything but a string (or null, for a Nullable one), more paths or types than the column allows) is
// declined rather than guessed at.
type JSON struct {
	typ                string
	maxTypes, maxPaths int

	typed   []typedPath // in path order
	typedAt map[string]int
	dyn     []*dynPath // sorted by name once the block is written
	dynAt   map[string]*dynPath
	rows    int
	failed  bool
	sorted  bool

	path  []byte // scratch: the path being read
	elems []elem // scratch: the array being read
}

// typedPath is a typed path's values; a Nullable(String) one also has a
// null map, 1 for a row without a string there (absent or null).
type typedPath struct {
	name     string
	nullable bool
	vals     strs
	nulls    []byte
}

// rows is the number of rows with a value (or NULL) at the path.
func (p *typedPath) rows() int { return p.vals.rows() }

// addNull records a row without a string at the path: NULL, or "" for a
// String path, as the server stores it.
func (p *typedPath) addNull() {
	p.vals.add("")
	if p.nullable {
		p.nulls = append(p.nulls, 1)
	}
}

// addString records a row's string at the path.
func (p *typedPath) addString(raw []byte, escaped bool) {
	addString(&p.vals, raw, escaped)
	if p.nullable {
		p.nulls = append(p.nulls, 0)
	}
}

func (p *typedPath) data(b []byte) []byte {
	if p.nullable {
		b = append(b, p.nulls...)
	}
	return p.vals.data(b)
}

// elem is one array element: its text and what it holds.
type elem struct {
	start, end int
	k          kind  // kString, kInt, kFloat, kBool, kArrJSON (an object) or kNull
	n          int64 // for kInt: its value
}

// NewJSON returns an empty column of type typ: "JSON" or JSON with String or
// Nullable(String) typed paths; ok is false for any other type.
func NewJSON(typ string) (*JSON, bool) {
	c := newJSON(typ, defaultMaxTypes, defaultMaxPaths)
	if typ == "JSON" {
		return c, true
	}
	params, ok := strings.CutPrefix(typ, "JSON(")
	if !ok || !strings.HasSuffix(params, ")") {
		return nil, false
	}
	paths, ok := parseTypedPaths(strings.TrimSuffix(params, ")"))
	if !ok {
		return nil, false
	}
	slices.SortFunc(paths, func(a, b typedPath) int { return strings.Compare(a.name, b.name) })
	for i, p := range paths {
		if i > 0 && paths[i-1].name == p.name {
			return nil, false
		}
		c.typedAt[p.name] = i
		c.typed = append(c.typed, p)
	}
	return c, true
}

func newJSON(typ string, maxTypes, maxPaths int) *JSON {
	return &JSON{typ: typ, maxTypes: maxTypes, maxPaths: maxPaths,
		typedAt: map[string]int{}, dynAt: map[string]*dynPath{}}
}

func (c *JSON) Type() string { return c.typ }
func (c *JSON) Rows() int    { return c.rows }

// Append adds the JSON object raw as one row. It returns false when raw is
// not a JSON object or holds a value the column declines (see JSON); the
// column then declines every later row too and must not be written.
func (c *JSON) Append(raw []byte) bool {
	if c.failed {
		return false
	}
	s := jsonscan.Scanner{Buf: raw, Rules: jsonscan.Rules{Strict: true, MaxDepth: maxDepth}}
	s.SkipSpace()
	ok := s.Pos < len(raw) && raw[s.Pos] == '{' && c.object(&s, c.path[:0], false, 0)
	if s.SkipSpace(); !ok || s.Pos != len(raw) {
		c.failed = true
		return false
	}
	c.rows++
	for i := range c.typed {
		if c.typed[i].rows() < c.rows {
			c.typed[i].addNull()
		}
	}
	return true
}

// object reads the object at s.Pos, its members' paths under prefix
// (nested: joined with a dot).
func (c *JSON) object(s *jsonscan.Scanner, prefix []byte, nested bool, depth int) bool {
	if depth >= maxDepth {
		return false
	}
	s.Pos++
	s.SkipSpace()
	if s.Pos < len(s.Buf) && s.Buf[s.Pos] == '}' {
		s.Pos++
		return true
	}
	for {
		key, escaped, f := s.Key()
		if f != jsonscan.NoFault {
			return false
		}
		path := prefix
		if nested {
			path = append(path, '.')
		}
		start := len(path)
		if escaped {
			path = jsonscan.AppendUnescaped(path, key)
		} else {
			path = append(path, key...)
		}
		path = escapeDots(path, start)
		if cap(path) > cap(c.path) {
			c.path = path[:0] // keep the grown scratch for later rows
		}
		s.SkipSpace()
		if !c.value(s, path, depth) {
			return false
		}
		more, f := s.Next('}')
		if f != jsonscan.NoFault {
			return false
		}
		if !more {
			return true
		}
		s.SkipSpace()
	}
}

// value reads the value at s.Pos, stored at path.
func (c *JSON) value(s *jsonscan.Scanner, path []byte, depth int) bool {
	if s.Pos >= len(s.Buf) {
		return false
	}
	if len(c.typed) > 0 {
		if i, ok := c.typedAt[string(path)]; ok {
			p := &c.typed[i]
			if p.rows() > c.rows {
				return false // the path written twice
			}
			if p.nullable && s.Buf[s.Pos] == 'n' {
				if s.Literal("null") != jsonscan.NoFault {
					return false
				}
				p.addNull()
				return true
			}
			raw, escaped, f := s.String()
			if f != jsonscan.NoFault {
				return false // not a string
			}
			p.addString(raw, escaped)
			return true
		}
	}
	switch s.Buf[s.Pos] {
	case '{':
		return c.object(s, path, true, depth+1)
	case '[':
		return c.array(s, path, depth)
	case 'n':
		return s.Literal("null") == jsonscan.NoFault
	case 't', 'f':
		word := "true"
		if s.Buf[s.Pos] == 'f' {
			word = "false"
		}
		if s.Literal(word) != jsonscan.NoFault {
			return false
		}
		d := c.at(path, kBool, 1<<kBool)
		if d == nil {
			return false
		}
		d.bools = append(d.bools, boolByte(word == "true"))
		return true
	case '"':
		raw, escaped, f := s.String()
		if f != jsonscan.NoFault {
			return false
		}
		d := c.at(path, kString, 1<<kString)
		if d == nil {
			return false
		}
		addString(&d.str, raw, escaped)
		return true
	}
	start := s.Pos
	n, f := s.Number()
	if f != jsonscan.NoFault {
		return false
	}
	if n.Fits {
		d := c.at(path, kInt, 1<<kInt)
		if d == nil {
			return false
		}
		d.ints = append(d.ints, n.Int)
		return true
	}
	if n.Integral {
		return false // beyond int64: the server reads it as UInt64 or refuses it
	}
	v, err := strconv.ParseFloat(string(s.Buf[start:s.Pos]), 64)
	if err != nil {
		return false
	}
	d := c.at(path, kFloat, 1<<kFloat)
	if d == nil {
		return false
	}
	d.flts = append(d.flts, v)
	return true
}

// fitsMask has a bit for each kind that holds a value as is.
type fitsMask uint16

// exactFloat reports whether n converts to float64 and back unchanged. A
// new float array holding an integer that does not is declined: how the
// server rounds or refuses it there was not established.
func exactFloat(n int64) bool {
	f := float64(n)
	return f < 0x1p63 && int64(f) == n
}

// array reads the array at s.Pos, stored at path.
func (c *JSON) array(s *jsonscan.Scanner, path []byte, depth int) bool {
	if depth+1 >= maxDepth {
		return false
	}
	elems := c.elems[:0]
	defer func() { c.elems = elems[:0] }()
	s.Pos++
	s.SkipSpace()
	if s.Pos < len(s.Buf) && s.Buf[s.Pos] == ']' {
		s.Pos++
	} else {
		for {
			e := elem{start: s.Pos}
			switch {
			case s.Pos >= len(s.Buf):
				return false
			case s.Buf[s.Pos] == '[':
				return false // nested arrays are declined
			case s.Buf[s.Pos] == '{':
				e.k = kArrJSON
				if s.Value(depth+1) != jsonscan.NoFault {
					return false
				}
			case s.Buf[s.Pos] == '"':
				e.k = kString
				if _, _, f := s.String(); f != jsonscan.NoFault {
					return false
				}
			case s.Buf[s.Pos] == 'n':
				e.k = kNull
				if s.Literal("null") != jsonscan.NoFault {
					return false
				}
			case s.Buf[s.Pos] == 't' || s.Buf[s.Pos] == 'f':
				e.k = kBool
				if s.Literal("true") != jsonscan.NoFault && s.Literal("false") != jsonscan.NoFault {
					return false
				}
			default:
				n, f := s.Number()
				if f != jsonscan.NoFault || n.Integral && !n.Fits {
					return false
				}
				e.k = kFloat
				if n.Fits {
					e.k, e.n = kInt, n.Int
				}
			}
			e.end = s.Pos
			elems = append(elems, e)
			more, f := s.Next(']')
			if f != jsonscan.NoFault {
				return false
			}
			if !more {
				break
			}
			s.SkipSpace()
		}
	}
	d := c.at(path, arrayKind(elems), arrayFits(elems))
	if d == nil {
		return false
	}
	k := d.discr[len(d.discr)-1]
	if k == kArrJSON {
		if d.obj == nil {
			d.obj = newJSON(nestedJSONType(c.maxTypes, c.maxPaths), c.maxTypes/2, c.maxPaths/4)
		}
		for _, e := range elems {
			text := s.Buf[e.start:e.end]
			if e.k == kNull {
				text = []byte("{}") // the server keeps a null element as an empty object
			}
			if !d.obj.Append(text) {
				return false
			}
		}
		d.objEnds = append(d.objEnds, uint64(d.obj.rows))
		return true
	}
	a := &d.arrs[k-kArrBool]
	for _, e := range elems {
		text := s.Buf[e.start:e.end]
		a.nulls = append(a.nulls, boolByte(e.k == kNull))
		switch k {
		case kArrBool:
			a.bools = append(a.bools, boolByte(e.k != kNull && text[0] == 't'))
		case kArrInt:
			a.ints = append(a.ints, e.n) // 0 for null
		case kArrFloat:
			var v float64
			if e.k != kNull {
				var err error
				if v, err = strconv.ParseFloat(string(text), 64); err != nil {
					return false
				}
			}
			a.flts = append(a.flts, v)
		case kArrString:
			if e.k == kNull {
				a.str.add("")
				continue
			}
			sc := jsonscan.Scanner{Buf: text}
			raw, escaped, _ := sc.String()
			addString(&a.str, raw, escaped)
		}
	}
	a.ends = append(a.ends, uint64(len(a.nulls)))
	return true
}

// arrayFits is the array kinds that hold an array of these elements as is:
// each element null or of the kind's element type (an integer in a Float64
// rounded to the nearest; in a JSON, null becomes an empty object).
func arrayFits(elems []elem) fitsMask {
	fits := fitsMask(1<<kArrJSON | 1<<kArrBool | 1<<kArrFloat | 1<<kArrInt | 1<<kArrString)
	for _, e := range elems {
		switch e.k {
		case kNull:
		case kArrJSON:
			fits &= 1 << kArrJSON
		case kString:
			fits &= 1 << kArrString
		case kBool:
			fits &= 1 << kArrBool
		case kFloat:
			fits &= 1 << kArrFloat
		case kInt:
			fits &= 1<<kArrFloat | 1<<kArrInt
		}
	}
	return fits
}

// arrayKind is the type the server infers for an array of these elements,
// or kNull for one it infers otherwise (a Tuple, an Array(Dynamic)).
func arrayKind(elems []elem) kind {
	var has [nKinds]bool
	objects, inexact := 0, false
	for _, e := range elems {
		if e.k == kArrJSON {
			objects++
		} else if e.k != kNull {
			has[e.k] = true
			inexact = inexact || e.k == kInt && !exactFloat(e.n)
		}
	}
	switch {
	case objects > 0 && objects == len(elems):
		return kArrJSON
	case objects > 0:
		return kNull
	case has[kString]:
		return orNull(kArrString, !has[kInt] && !has[kFloat] && !has[kBool])
	case has[kBool]:
		return orNull(kArrBool, !has[kInt] && !has[kFloat])
	case has[kFloat]:
		return orNull(kArrFloat, !inexact)
	case has[kInt]:
		return kArrInt
	}
	return kArrString // empty, or only nulls
}

func orNull(k kind, ok bool) kind {
	if !ok {
		return kNull
	}
	return k
}

// at returns the dynamic path's column with this row's kind recorded last
// in its discr, or nil when the row cannot have a value there: a path
// written twice, one beside a typed path, or one past the column's limits.
//
// As the server does, a value goes to the first of the kinds already
// stored at the path in this block (in type-name order) that holds it as
// is (fits), and only otherwise takes its own kind k (none when kNull).
func (c *JSON) at(path []byte, k kind, fits fitsMask) *dynPath {
	d, ok := c.dynAt[string(path)]
	if !ok {
		if len(c.dyn) >= c.maxPaths || c.clashesWithTyped(path) {
			return nil
		}
		d = &dynPath{name: string(path), last: -1}
		c.dynAt[d.name] = d
		c.dyn = append(c.dyn, d)
	}
	if d.last == c.rows {
		return nil
	}
	for have := range nKinds {
		if d.used[have] && fits&(1<<have) != 0 {
			k = have
			break
		}
	}
	if k == kNull {
		return nil
	}
	if !d.used[k] {
		if d.types >= c.maxTypes {
			return nil
		}
		d.used[k] = true
		d.types++
	}
	d.last = c.rows
	for len(d.discr) < c.rows {
		d.discr = append(d.discr, kNull)
	}
	d.discr = append(d.discr, k)
	return d
}

// clashesWithTyped reports whether path lies inside a typed path or a typed
// path inside it, which the server resolves in ways not mirrored here.
func (c *JSON) clashesWithTyped(path []byte) bool {
	for i := range c.typed {
		t := c.typed[i].name
		if len(path) > len(t) && string(path[:len(t)]) == t && path[len(t)] == '.' ||
			len(t) > len(path) && t[:len(path)] == string(path) && t[len(path)] == '.' {
			return true
		}
	}
	return false
}

func (c *JSON) sort() {
	if !c.sorted {
		slices.SortFunc(c.dyn, func(a, b *dynPath) int { return strings.Compare(a.name, b.name) })
		c.sorted = true
	}
}

func (c *JSON) prefix(b []byte) []byte {
	c.sort()
	b = binary.LittleEndian.AppendUint64(b, objectVersion)
	b = binary.AppendUvarint(b, uint64(len(c.dyn)))
	for _, d := range c.dyn {
		b = appendString(b, d.name)
	}
	for _, d := range c.dyn {
		b = binary.LittleEndian.AppendUint64(b, dynamicVersion)
		b = binary.AppendUvarint(b, uint64(d.types))
		for k := range nKinds {
			if d.used[k] {
				b = appendString(b, typeName(k, c.maxTypes, c.maxPaths))
			}
		}
		if d.used[kArrJSON] {
			b = d.obj.prefix(b)
		}
	}
	return b
}

func (c *JSON) data(b []byte) []byte {
	c.sort()
	for i := range c.typed {
		b = c.typed[i].data(b)
	}
	for _, d := range c.dyn {
		b = d.data(b, c.rows)
	}
	return b
}

// dynPath is one dynamic path's values: each row's kind, and the values of
// each kind in row order.
type dynPath struct {
	name  string
	last  int // the row that last stored a value here
	used  [nKinds]bool
	types int
	discr []kind

	str     strs
	ints    []int64
	flts    []float64
	bools   []byte
	arrs    [kArrString - kArrBool + 1]array
	obj     *JSON
	objEnds []uint64
}

// array is the values of one Array(Nullable(T)) type: each row's end
// offset into its elements, and the elements.
type array struct {
	ends  []uint64
	nulls []byte
	str   strs
	ints  []int64
	flts  []float64
	bools []byte
}

func (d *dynPath) data(b []byte, rows int) []byte {
	var disc [nKinds]byte
	n := byte(0)
	for k := range nKinds {
		if d.used[k] {
			disc[k] = n
			n++
		}
	}
	for _, k := range d.discr {
		if k == kNull {
			b = append(b, n)
		} else {
			b = append(b, disc[k])
		}
	}
	for range rows - len(d.discr) {
		b = append(b, n)
	}
	for k := range nKinds {
		if !d.used[k] {
			continue
		}
		switch k {
		case kArrJSON:
			b = appendUint64s(b, d.objEnds)
			b = d.obj.data(b)
		case kArrBool, kArrFloat, kArrInt, kArrString:
			a := &d.arrs[k-kArrBool]
			b = appendUint64s(b, a.ends)
			b = append(b, a.nulls...)
			switch k {
			case kArrBool:
				b = append(b, a.bools...)
			case kArrFloat:
				b = appendFloats(b, a.flts)
			case kArrInt:
				b = appendInt64s(b, a.ints)
			default:
				b = a.str.data(b)
			}
		case kBool:
			b = append(b, d.bools...)
		case kFloat:
			b = appendFloats(b, d.flts)
		case kInt:
			b = appendInt64s(b, d.ints)
		case kString:
			b = d.str.data(b)
		}
	}
	return b
}

// escapeDots escapes each dot of path[start:] (one key) as %2E, as the
// server does with json_type_escape_dots_in_keys = 1: a key "a.b" and a
// nested {"a":{"b":…}} are then two paths, a.b and a%2Eb, and neither value
// is lost.
func escapeDots(path []byte, start int) []byte {
	if bytes.IndexByte(path[start:], '.') < 0 {
		return path
	}
	key := append([]byte(nil), path[start:]...)
	path = path[:start]
	for _, ch := range key {
		if ch == '.' {
			path = append(path, "%2E"...)
		} else {
			path = append(path, ch)
		}
	}
	return path
}

func addString(s *strs, raw []byte, escaped bool) {
	if escaped {
		s.buf = jsonscan.AppendUnescaped(s.buf, raw)
		s.ends = append(s.ends, len(s.buf))
		return
	}
	s.addBytes(raw)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendUint64s(b []byte, v []uint64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, x)
	}
	return b
}

func appendFloats(b []byte, v []float64) []byte {
	for _, x := range v {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	}
	return b
}
