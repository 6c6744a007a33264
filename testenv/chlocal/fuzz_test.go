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
// on the complete text and on a cut-off prefix of it; the access rules on the
// text; and the Host check on the URL parameters as a Host header.
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
		{"127.0.0.1:8123", "SELECT * FROM `fil\\x65`('/etc/passwd') SETTINGS readonly = 1"},
		{"[::1]:8123", "INSERT INTO t VALUES ('a'), (file('/x'))"},
		{"evil.example", "CREATE TABLE t ENGINE = File(CSV) SETTINGS disk = disk(path = '/')"},
	} {
		f.Add(seed.query, seed.body, uint8(0))
	}
	rules := &access{outside: map[string]bool{"file": true, "url": true, "disk": true}}
	loopback := newHostCheck(DefaultAddr, false)
	f.Fuzz(func(t *testing.T, rawQuery, body string, cut uint8) {
		// A name under any accepted host is a DNS name: refused.
		if loopback.allowed("evil." + rawQuery) {
			t.Fatalf("Host %q allowed", "evil."+rawQuery)
		}
		newHostCheck(rawQuery, true).allowed(body)
		if ex := rules.refusal(body); ex != nil && ex.Code != codeAccessDenied {
			t.Fatalf("refusal with code %d", ex.Code)
		}
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
				// The statement is the text before the data, VALUES made a FORMAT clause.
				if stmt := split.statement(); len(stmt) > split.dataStart+len(" FORMAT Values") {
					t.Fatalf("statement %q holds data of %q", stmt, c.text)
				}
			case needMoreText:
				if c.complete {
					t.Fatalf("complete text %q needs more", c.text)
				}
			}
		}
	})
}
