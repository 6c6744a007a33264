package chblock_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/sinks/clickhouse/chblock"
	"github.com/sluicehq/sluice/testenv/chlocal"
)

// contextType has typed paths out of byte order, as sluice's context column
// does; legacyContextType is the String typed paths of an older sluice.
const (
	contextType       = "JSON(`library.name` Nullable(String), `library.version` Nullable(String), `ip` Nullable(String), `page.url` Nullable(String), `app.name` Nullable(String))"
	legacyContextType = "JSON(`library.name` String, `library.version` String, `ip` String, `page.url` String, `app.name` String)"
)

// textSettings are the sink's settings for inserting JSON text.
var textSettings = clickhouse.Settings{
	"input_format_try_infer_dates":     0,
	"input_format_try_infer_datetimes": 0,
	"type_json_skip_duplicated_paths":  1,
	"json_type_escape_dots_in_keys":    1,
}

// mustAccept are objects the encoder writes itself; each row is compared
// with what the server makes of the same text.
var mustAccept = []string{
	`{}`,
	`{"order_id":"o-1","total":12.95,"currency":"EUR","products":[{"sku":"sku-1","qty":1,"price":19.99},{"sku":"sku-9","qty":2,"price":5}]}`,
	`{"a":[1,2.5],"c":[],"d":[null],"m":[1,null],"w":[true,false,null],"x":[1.5,2],"y":["a",null],"ak":[]}`,
	`{"g":{},"n":{"x":{}},"h":1e5,"q":1.0,"p":-0,"ae":-12,"af":1E2,"ad":1.5e-3,"ai":0.1,"tiny":1e-320,"neg":-0.0}`,
	`{"o":true,"f":false,"z":null,"s":"","big":9223372036854775807,"small":-9223372036854775808}`,
	`{"r":[{}],"ab":[{"a":1},{"a":"x"}],"ac":[{"a":[1]}],"aj":[{"b":{"c":1}}],"deep":[{"x":[{"y":1}]}]}`,
	`{"a.b":1,"c":{"d.e":{"f":"g"}}}`, `{"a.b":1,"a":{"b":2}}`, `{"a":{"b":2},"a.b":"x","a%2Eb.c":3}`, `{"l":[{"x.y":1,"x":{"y":2}}]}`, `{"..":1,".":{"":2}}`,
	`{"":1,"y":{"":2},"e\u0301":"\u00e9\ud83d\ude00","tab\t":"a\"b\\c\/d\n","k\u002ex":3}`,
	`{"x":1}`, `{"x":"one"}`, `{"x":1.5}`, `{"x":[1]}`, `{"x":true}`, `{"x":{"y":1}}`, `{"x":[{"y":"z"}]}`, `{"x":null}`,
	`{"list":["a","b"]}`, `{"list":[1,2]}`, `{"list":[]}`,
	` { "spaced" : [ 1 , 2 ] , "o" : { } } `,
	`{"unicode":"日本語","emoji":"😀","nul":"a\u0000b"}`,
	// A value goes to the first type already at its path that holds it.
	`{"p1":[1.5]}`, `{"p1":[2]}`, `{"p1":[9007199254740993]}`,
	`{"p2":[{"a":1}]}`, `{"p2":[]}`, `{"p2":[null]}`, `{"p2":[{"a":2},null]}`,
	`{"p3":2}`, `{"p3":1.5}`, `{"p3":3}`,
	`{"p4":["a"]}`, `{"p4":[1]}`, `{"p4":[null]}`,
	`{"p5":[true]}`, `{"p5":[1]}`, `{"p5":[]}`,
	`{"p6":[{"a":1.5},{"a":2},{"a":[]}]}`, `{"p6":[{"a":[1]}]}`,
}

// mustDecline are objects whose stored types the encoder does not vouch
// for.
var mustDecline = []string{
	`{"b":[1,"x"]}`, `{"e":[true,1]}`, `{"f":[[1],[2]]}`, `{"u":[{"a":1},1]}`, `{"v":[{"a":1},null]}`,
	`{"i":18446744073709551615}`, `{"k":1e400}`, `{"x":1,"x":2}`, `{"a%2Eb":1,"a.b":2}`,
	`{"p":[1.5,9007199254740993]}`, `{"p":[{"a":1},null]}`, `[1]`, `"s"`, `{"a":1} x`, `{"a":`, `{"s":"\ud800"}`, "{\"s\":\"\xff\"}",
}

func TestJSONMatchesServer(t *testing.T) {
	for _, typ := range []string{"JSON", contextType, legacyContextType} {
		t.Run(typ[:4]+strconv.Itoa(len(typ)), func(t *testing.T) {
			srv, conn, db := open(t)
			docs := append([]string(nil), mustAccept...)
			if typ != "JSON" {
				docs = append(docs,
					`{"library":{"name":"analytics.js","version":"4.1.0"},"ip":"203.0.113.9","page":{"path":"/p","url":"https://shop.example/p"},"locale":"en-US"}`,
					`{"app":{"name":"shop","build":"7"},"ip":"","extra":[1,2]}`,
					`{"page.url":"flat key: not the typed path","library":{"name":"x.y"}}`,
				)
				if typ == contextType {
					docs = append(docs, `{"ip":null,"library":{"name":null,"version":"1"}}`)
				}
			}
			compareWithServer(t, srv, conn, db, typ, docs, true)
		})
	}
}

func TestJSONDeclines(t *testing.T) {
	for _, doc := range mustDecline {
		c, _ := chblock.NewJSON("JSON")
		if c.Append([]byte(doc)) {
			t.Errorf("Append(%s) accepted it", doc)
		}
		if c.Append([]byte(`{}`)) {
			t.Errorf("after declining %s, Append({}) accepted a row", doc)
		}
	}
	for _, typ := range []string{contextType, legacyContextType} {
		docs := []string{`{"ip":1}`, `{"library":{"name":{"x":1}}}`, `{"library":"x"}`, `{"ip":"a","ip":"b"}`, `{"ip":null,"ip":"b"}`, `{"library":{"name":{"x":"y"}}}`}
		if typ == legacyContextType {
			docs = append(docs, `{"ip":null}`)
		}
		for _, doc := range docs {
			c, _ := chblock.NewJSON(typ)
			if c.Append([]byte(doc)) {
				t.Errorf("%s: Append(%s) accepted it", typ, doc)
			}
		}
	}
}

func TestNewColumnTypes(t *testing.T) {
	for _, typ := range []string{"String", "LowCardinality(String)", "DateTime64(3, 'UTC')", "Nullable(DateTime64(3, 'UTC'))",
		"UInt32", "Int32", "Int64", "JSON", contextType, legacyContextType, "JSON(a String)", "JSON(a Nullable(String))"} {
		if _, ok := chblock.NewColumn(typ); !ok {
			t.Errorf("NewColumn(%q) refused it", typ)
		}
	}
	for _, typ := range []string{"UInt8", "DateTime64(6, 'UTC')", "JSON(a Int64)", "JSON(max_dynamic_paths=10)", "JSON(SKIP a)", "JSON(a String, a String)", "JSON()", "JSON(`a` b` String)"} {
		if _, ok := chblock.NewColumn(typ); ok {
			t.Errorf("NewColumn(%q) took it", typ)
		}
	}
}

// FuzzJSONMatchesServer checks that every block of objects (one per line)
// the encoder accepts is stored exactly as the server stores its text: the
// same values and the same type at every path.
func FuzzJSONMatchesServer(f *testing.F) {
	for _, d := range append(append([]string(nil), mustAccept...), mustDecline...) {
		f.Add(d)
	}
	for i := 0; i+1 < len(mustAccept); i++ {
		f.Add(mustAccept[i] + "\n" + mustAccept[i+1])
	}
	srv, conn, db := open(f)
	f.Fuzz(func(t *testing.T, rows string) {
		compareWithServer(t, srv, conn, db, "JSON", strings.Split(rows, "\n"), false)
	})
}

func open(tb testing.TB) (*chlocal.Server, driver.Conn, string) {
	srv, db := chlocal.ForTest(tb)
	conn, err := clickhouse.Open(&clickhouse.Options{Protocol: clickhouse.HTTP, Addr: []string{srv.Addr()}, Auth: clickhouse.Auth{Database: db}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return srv, conn, db
}

var tableSeq int

// compareWithServer inserts docs as text into one table and through the
// encoder into another, then compares them row by row. With all set, the
// encoder must accept every doc; otherwise a block it declines is skipped.
func compareWithServer(t *testing.T, srv *chlocal.Server, conn driver.Conn, db, typ string, docs []string, all bool) {
	t.Helper()
	ctx := t.Context()
	tableSeq++
	text, native := fmt.Sprintf("text_%d", tableSeq), fmt.Sprintf("native_%d", tableSeq)
	for _, name := range []string{text, native} {
		if err := conn.Exec(ctx, "CREATE TABLE "+name+" (id UInt32, j "+typ+") ENGINE = MergeTree ORDER BY id"); err != nil {
			t.Fatal(err)
		}
	}
	ids := &chblock.UInt32{}
	col, _ := chblock.NewJSON(typ)
	for i, d := range docs {
		if !col.Append([]byte(d)) {
			if all {
				t.Fatalf("Append(%s) declined it after %q", d, docs[:i])
			}
			return // the rows go to the server as text: nothing to compare
		}
		ids.Append(uint32(i))
	}
	batch, err := conn.PrepareBatch(clickhouse.Context(ctx, clickhouse.WithSettings(textSettings)), "INSERT INTO "+text)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range docs {
		if err := batch.Append(uint32(i), d); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		if all {
			t.Fatalf("the server refused the text: %v", err)
		}
		return // the server refuses text the encoder took: nothing to compare
	}
	var block chblock.Block
	block.Add("id", ids)
	block.Add("j", col)
	body, err := block.AppendTo([]byte("INSERT INTO " + native + " FORMAT Native\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, string(body)); err != nil {
		t.Fatalf("the server refused the encoded block of %q: %v", docs, err)
	}
	rows, err := conn.Query(ctx, "SELECT t.id, toJSONString(t.j), toString(JSONAllPathsWithTypes(t.j)), toJSONString(n.j), toString(JSONAllPathsWithTypes(n.j)) "+
		"FROM "+text+" AS t FULL JOIN "+native+" AS n ON t.id = n.id ORDER BY t.id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id uint32
		var tj, tp, nj, np string
		if err := rows.Scan(&id, &tj, &tp, &nj, &np); err != nil {
			t.Fatal(err)
		}
		seen++
		if tj != nj || tp != np {
			t.Errorf("%s:\n server: %s %s\nencoder: %s %s", docs[id], tj, tp, nj, np)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seen != len(docs) {
		t.Errorf("compared %d rows of %d", seen, len(docs))
	}
	// The same values and top-level types may still hide a different type
	// inside an array of objects: the engine's own serialization of both
	// columns shows every type.
	if t.Failed() {
		return
	}
	for i := range docs {
		where := fmt.Sprintf(" WHERE id = %d", i)
		if a, b := nativeOf(t, srv, db, text, where), nativeOf(t, srv, db, native, where); !bytes.Equal(a, b) {
			t.Errorf("%s: stored differently\n server: %q\nencoder: %q", docs[i], a, b)
		}
	}
	if a, b := nativeOf(t, srv, db, text, ""), nativeOf(t, srv, db, native, ""); !bytes.Equal(a, b) {
		t.Errorf("the columns are stored differently\n server: %q\nencoder: %q", a, b)
	}
}

// nativeOf returns the table's j column, in id order, in the engine's own
// serialization.
func nativeOf(t *testing.T, srv *chlocal.Server, db, table, where string) []byte {
	t.Helper()
	q := url.Values{"database": {db}, "output_format_native_write_json_as_string": {"0"}}
	resp, err := http.Post("http://"+srv.Addr()+"/?"+q.Encode(), "text/plain",
		strings.NewReader("SELECT j FROM "+table+where+" ORDER BY id FORMAT Native"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("reading %s: %v %s", table, err, body)
	}
	return body
}
