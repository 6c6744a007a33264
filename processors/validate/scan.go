package validate

import (
	"errors"
	"strconv"

	"github.com/sluicehq/sluice/schemas/jsonscan"
	"github.com/sluicehq/sluice/schemas/plan"
)

// ErrMalformed is returned (wrapped, with the offset) for properties that
// are not well-formed JSON. Such input is dead-lettered upstream.
var ErrMalformed = errors.New("validate: malformed JSON")

// maxSkipDepth bounds the nesting of unplanned values the walker skips.
const maxSkipDepth = 512

// walker walks the JSON bytes of one event once, checking them against
// compiled nodes and recording violations and deletions in its Result.
type walker struct {
	jsonscan.Scanner
	r       *Result
	pol     plan.Policy
	root    string // "properties" or "traits"
	err     error
	blocked bool
	trials  int // union branch trials left, so nested unions stay linear
}

// scannerOf returns the walker's scanner of b: it checks the grammar, as
// encoding/json does, and that a skipped value sits inside at most
// maxSkipDepth objects and arrays.
func scannerOf(b []byte) jsonscan.Scanner {
	return jsonscan.Scanner{Buf: b, Rules: jsonscan.Rules{MaxDepth: maxSkipDepth, ValueDepth: true}}
}

// malformed records the first syntax error and returns false.
func (w *walker) malformed(what string) bool {
	if w.err == nil {
		w.err = &syntaxError{offset: w.Pos, what: what}
	}
	return false
}

// fail records the fault f, found at Pos, as the first syntax error and
// returns false.
func (w *walker) fail(f jsonscan.Fault) bool { return w.malformed(f.String()) }

type syntaxError struct {
	offset int
	what   string
}

func (e *syntaxError) Error() string {
	return ErrMalformed.Error() + " at offset " + strconv.Itoa(e.offset) + ": " + e.what
}

func (e *syntaxError) Unwrap() error { return ErrMalformed }

// classOf maps the first byte of a value to its JSON class; -1 if none.
var classOf = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	t['n'] = cNull
	t['t'], t['f'] = cBool, cBool
	t['-'] = cNumber
	for c := '0'; c <= '9'; c++ {
		t[c] = cNumber
	}
	t['"'] = cString
	t['['] = cArray
	t['{'] = cObject
	return t
}()

// class is the JSON class of the value at Pos, or -1 (and a syntax error).
func (w *walker) class() int {
	c := int8(-1)
	if w.Pos < len(w.Buf) {
		c = classOf[w.Buf[w.Pos]]
	}
	if c < 0 {
		w.fail(jsonscan.NoValue)
	}
	return int(c)
}

// lit consumes the literal s (null, true, false).
func (w *walker) lit(s string) bool {
	return w.Literal(s) == jsonscan.NoFault || w.fail(jsonscan.BadLiteral)
}

// skip consumes any value, checking its syntax.
func (w *walker) skip() bool {
	if f := w.Value(0); f != jsonscan.NoFault {
		return w.fail(f)
	}
	return true
}

// key consumes `"name" :` and the whitespace after it, and returns the
// name's bytes and whether they contain escapes.
func (w *walker) key() (name []byte, esc bool, ok bool) {
	name, esc, f := w.Key()
	if f != jsonscan.NoFault {
		return nil, false, w.fail(f)
	}
	w.SkipSpace()
	return name, esc, true
}

// sep consumes the separator after a member or element: true after a comma
// (another member follows), false after the closing byte or on error.
func (w *walker) sep(closing byte) bool {
	more, f := w.Next(closing)
	if f != jsonscan.NoFault {
		return w.fail(f)
	}
	if more {
		w.SkipSpace()
	}
	return more
}
