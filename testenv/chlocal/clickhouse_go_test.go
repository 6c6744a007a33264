package chlocal

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// connect opens a clickhouse-go connection over HTTP to database.
func connect(t testing.TB, srv *Server, database string, opts ...func(*clickhouse.Options)) driver.Conn {
	t.Helper()
	o := &clickhouse.Options{
		Protocol: clickhouse.HTTP,
		Addr:     []string{srv.Addr()},
		Auth:     clickhouse.Auth{Database: database},
	}
	for _, f := range opts {
		f(o)
	}
	conn, err := clickhouse.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	return conn
}

func count(t testing.TB, conn driver.Conn, sql string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestClickHouseGoBatchInsertAndDelete(t *testing.T) {
	srv, db := ForTest(t)
	conn := connect(t, srv, db)
	ctx := t.Context()
	if err := conn.Exec(ctx, `CREATE TABLE events (id UInt64, user_id String, ts DateTime64(3))
		ENGINE = MergeTree ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	const rows = 200_000
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO events")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range rows {
		if err := batch.Append(uint64(i), fmt.Sprintf("user-%d", i%100), base.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	if got := count(t, conn, "SELECT count() FROM events"); got != rows {
		t.Fatalf("count after insert = %d, want %d", got, rows)
	}
	if err := conn.Exec(ctx, "DELETE FROM events WHERE user_id IN ('user-1', 'user-2')"); err != nil {
		t.Fatal(err)
	}
	if got := count(t, conn, "SELECT count() FROM events"); got != rows-2*rows/100 {
		t.Errorf("count after delete = %d, want %d", got, rows-2*rows/100)
	}
	if got := count(t, conn, "SELECT count() FROM events WHERE user_id = 'user-1'"); got != 0 {
		t.Errorf("deleted user still has %d rows", got)
	}
}

func TestClickHouseGoExceptions(t *testing.T) {
	srv, db := ForTest(t)
	conn := connect(t, srv, db)
	for sql, code := range map[string]int32{
		"SELEC 1":                 62,
		"SELECT * FROM no_such_t": 60,
	} {
		err := conn.Exec(context.Background(), sql)
		var ex *clickhouse.Exception
		if !errors.As(err, &ex) {
			t.Errorf("%s: got %v (%T), want *clickhouse.Exception", sql, err, err)
			continue
		}
		if ex.Code != code {
			t.Errorf("%s: code %d, want %d (%s)", sql, ex.Code, code, ex.Message)
		}
	}
}

func TestClickHouseGoTypedRoundTrip(t *testing.T) {
	srv, db := ForTest(t)
	conn := connect(t, srv, db)
	ctx := t.Context()
	if err := conn.Exec(ctx, `CREATE TABLE typed (
		s String, i Int64, f Float64, b Bool, ts DateTime64(3, 'UTC'),
		ns Nullable(String), arr Array(String), m Map(String, String),
		lc LowCardinality(String), j JSON
	) ENGINE = MergeTree ORDER BY i`); err != nil {
		t.Fatal(err)
	}
	type row struct {
		S   string
		I   int64
		F   float64
		B   bool
		TS  time.Time
		NS  *string
		Arr []string
		M   map[string]string
		LC  string
		J   string // JSON text in, toJSONString out
	}
	text := "tab\tquote' backslash\\ newline\n unicode é"
	want := []row{
		{"", -1 << 62, -0.5, false, time.Unix(0, 0).UTC(), nil, []string{}, map[string]string{}, "", `{}`},
		{text, 1<<62 + 7, 3.25, true, time.Date(2024, 2, 29, 23, 59, 58, 123e6, time.UTC), &text,
			[]string{"a", "", "c"}, map[string]string{"k": "v", "": "empty"}, "low", `{"a":1,"b":{"c":"d"}}`},
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO typed")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range want {
		if err := batch.Append(r.S, r.I, r.F, r.B, r.TS, r.NS, r.Arr, r.M, r.LC, r.J); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}

	rows, err := conn.Query(ctx, "SELECT s, i, f, b, ts, ns, arr, m, lc, toJSONString(j), j FROM typed ORDER BY i")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []row
	var native []string
	for rows.Next() {
		var r row
		var j clickhouse.JSON
		if err := rows.Scan(&r.S, &r.I, &r.F, &r.B, &r.TS, &r.NS, &r.Arr, &r.M, &r.LC, &r.J, &j); err != nil {
			t.Fatal(err)
		}
		r.TS = r.TS.UTC()
		got = append(got, r)
		b, err := j.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		native = append(native, string(b))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	// The JSON column itself, read from Native.
	if wantNative := []string{want[0].J, want[1].J}; !reflect.DeepEqual(native, wantNative) {
		t.Errorf("JSON column as Native: got %q, want %q", native, wantNative)
	}
}

func TestClickHouseGoQueryParameters(t *testing.T) {
	srv, db := ForTest(t)
	conn := connect(t, srv, db)
	ctx := t.Context()
	if err := conn.Exec(ctx, "CREATE TABLE p (user String, n UInt32) ENGINE = MergeTree ORDER BY n"); err != nil {
		t.Fatal(err)
	}
	if err := conn.Exec(ctx, `INSERT INTO p VALUES ('o''brien', 1), ('o''brien', 2), ('x', 3), ('a\\b', 4)`); err != nil {
		t.Fatal(err)
	}
	got := count(t, conn, "SELECT count() FROM p WHERE user = {user:String} AND n > {n:UInt32}",
		clickhouse.Named("user", "o'brien"), clickhouse.Named("n", "1"))
	if got != 1 {
		t.Errorf("named parameters: count %d, want 1", got)
	}
	var ex *clickhouse.Exception
	if err := conn.Exec(ctx, "SELECT {user:String}"); !errors.As(err, &ex) || ex.Code != 456 {
		t.Errorf("unbound parameter: got %v, want UNKNOWN_QUERY_PARAMETER (456)", err)
	}
	// Parameter values are ClickHouse's escaped text: `a\\b` is a\b.
	pctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"user": `a\\b`}))
	var n uint64
	if err := conn.QueryRow(pctx, "SELECT count() FROM p WHERE user = {user:String}").Scan(&n); err != nil || n != 1 {
		t.Errorf("context parameters: count %d, err %v; want 1", n, err)
	}
	dctx := clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"user": "o'brien"}))
	if err := conn.Exec(dctx, "DELETE FROM p WHERE user = {user:String}"); err != nil {
		t.Fatal(err)
	}
	if got := count(t, conn, "SELECT count() FROM p"); got != 2 {
		t.Errorf("after parameterized delete: count %d, want 2", got)
	}
	var none []struct {
		User string `ch:"user"`
	}
	if err := conn.Select(dctx, &none, "SELECT user FROM p WHERE user = {user:String}"); err != nil || len(none) != 0 {
		t.Errorf("empty result: %v, %v", none, err)
	}
}
