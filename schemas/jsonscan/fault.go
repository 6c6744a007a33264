package jsonscan

// Fault says what is wrong with JSON text where a scan stopped. Scans return
// it with the offset it was found at; NoFault means the text is well-formed.
type Fault uint8

// Faults of the grammar, then of Rules.MaxDepth, then of Rules.Strict.
const (
	NoFault          Fault = iota
	Unterminated           // a string runs to the end of the input
	BadEscape              // a backslash not followed by one of "\/bfnrtu
	BadUnicodeEscape       // \u not followed by four hexadecimal digits
	ControlChar            // a byte below 0x20 in a string
	BadNumber              // a number that breaks the grammar (01, 1., -, 1e)
	BadLiteral             // a word other than true, false and null
	NoValue                // no value where one must start
	NoKey                  // no string where an object key must start
	NoColon                // no ':' after an object key
	NoCommaObject          // neither ',' nor '}' after an object member
	NoCommaArray           // neither ',' nor ']' after an array element
	TooDeep                // objects and arrays nest deeper than Rules.MaxDepth
	BadUTF8                // a string holds bytes that are not UTF-8
	LoneSurrogate          // a \u escape of a UTF-16 surrogate without its pair
	IntRange               // an integer outside int64
	FloatRange             // a number that overflows float64
)

var faultText = [...]string{
	NoFault:          "no fault",
	Unterminated:     "unterminated string",
	BadEscape:        "invalid escape in string",
	BadUnicodeEscape: "invalid \\u escape in string",
	ControlChar:      "control character in string",
	BadNumber:        "invalid number",
	BadLiteral:       "invalid literal",
	NoValue:          "invalid value",
	NoKey:            "expected a string key in object",
	NoColon:          "expected ':' after object key",
	NoCommaObject:    "expected ',' or '}' in object",
	NoCommaArray:     "expected ',' or ']' in array",
	TooDeep:          "objects and arrays nest too deep",
	BadUTF8:          "string is not valid UTF-8",
	LoneSurrogate:    "lone UTF-16 surrogate escape",
	IntRange:         "integer does not fit in int64",
	FloatRange:       "number overflows float64",
}

// String says what the fault is, in words.
func (f Fault) String() string {
	if int(f) < len(faultText) {
		return faultText[f]
	}
	return "unknown fault"
}
