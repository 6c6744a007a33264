package chlocal

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequestParsing feeds arbitrary URL parameters and SQL text through
// everything that reads a request before the engine sees it: parameter and
// setting parsing, statement description, SYNC removal and INSERT splitting,
// on the complete text and on a cut-off prefix of it.
func FuzzRequestParsing(f *testing.F) {
	for _, seed := range []struct{ query, body string }{
		{"query=INSERT+INTO+t+FORMAT+CSV&database=d", "1,2\n"},
		{"query=INSERT+INTO+t+VALUES", "(1),(2)"},
		{"default_format=JSONEachRow&param_x=1&max_threads=2", "SELECT {x:UInt8} FORMAT JSON"},
		{"readonly=1&client_protocol_version=54460&compress=1", "DROP TABLE t SYNC"},
		{"", "INSERT INTO FUNCTION file('a', 'CSV') (a) SETTINGS x=1 FORMAT CSV\n1"},
		{"", "INSERT INTO {t:Identifier} -- c\n VALUES (1)"},
		{"query=SELECT+%27;", "$$x$$; SELECT /* */ 1 # c"},
		{"%zz=1&bad-name=2", "INSERT INTO `t` (`a`) FORMAT Native\n\x01\x00"},
	} {
		f.Add(seed.query, seed.body, uint8(0))
	}
	f.Fuzz(func(t *testing.T, rawQuery, body string, cut uint8) {
		r := &http.Request{Method: http.MethodPost, URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}}
		req, ex := parseRequest(r)
		if ex != nil {
			if ex.Code == 0 || !strings.HasPrefix(ex.Message, "Code: ") {
				t.Fatalf("malformed exception %+v", ex)
			}
			return
		}
		for name := range req.settings {
			if !isSettingName(name) || transportParams[name] || strings.HasPrefix(name, "param_") {
				t.Fatalf("%q taken as a setting", name)
			}
		}
		text := req.query
		if text != "" {
			text += "\n"
		}
		text += body
		st := describe(text)
		if out := st.withoutSync(text); len(out) > len(text) {
			t.Fatalf("withoutSync grew the text: %q -> %q", text, out)
		}
		prefix := text[:min(len(text), int(cut))]
		for _, c := range []struct {
			text     string
			complete bool
		}{{text, true}, {prefix, false}} {
			split, outcome := splitInsert(c.text, c.complete)
			switch outcome {
			case inlineInsert:
				if split.dataStart < 0 || split.dataStart > len(c.text) {
					t.Fatalf("dataStart %d outside %q", split.dataStart, c.text)
				}
				if !strings.Contains(split.query("/f"), " FROM INFILE '/f' ") {
					t.Fatalf("no INFILE clause in %q", split.query("/f"))
				}
			case needMoreText:
				if c.complete {
					t.Fatalf("complete text %q needs more", c.text)
				}
			}
		}
	})
}
