package clickhouse

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
	"github.com/sluicehq/sluice/testenv/chlocal"
)

// proxy is a TCP proxy in front of the local ClickHouse that can play an
// outage: while down it accepts connections and closes them at once, as a
// server restarting behind a load balancer does.
type proxy struct {
	ln      net.Listener
	backend string
	down    atomic.Bool
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
}

func newProxy(t *testing.T, backend string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, backend: backend, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	b, err := net.Dial("tcp", p.backend)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[b] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(b, c); b.Close() }()
	io.Copy(c, b)
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, b)
	p.mu.Unlock()
}

// setDown starts or ends the outage; starting it also drops open connections.
func (p *proxy) setDown(down bool) {
	p.down.Store(down)
	if down {
		p.cut()
	}
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// chDest is one fresh database on the shared local ClickHouse.
type chDest struct {
	srv   *chlocal.Server
	db    string
	proxy *proxy
	conn  driver.Conn
	cfg   func(*Config)
}

func newDest(t *testing.T, cfg ...func(*Config)) *chDest {
	t.Helper()
	srv, db := chlocal.ForTest(t)
	d := &chDest{srv: srv, db: db, proxy: newProxy(t, srv.Addr())}
	if len(cfg) > 0 {
		d.cfg = cfg[0]
	}
	d.conn = rawConn(t, srv.Addr())
	return d
}

// rawConn is a connection for the test's own queries, straight to the server.
func rawConn(t testing.TB, addr string) driver.Conn {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Protocol: ch.HTTP, Addr: []string{addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func (d *chDest) config() Config {
	// Compression none: chlocal stores a small LZ4- or ZSTD-framed insert
	// twice (its spool reads ch-go's block reader again after EOF, which
	// replays the last block).
	c := Config{Addrs: []string{d.proxy.Addr()}, Database: d.db, Compression: "none", DialTimeout: 2 * time.Second, QueryTimeout: time.Minute}
	if d.cfg != nil {
		d.cfg(&c)
	}
	return c
}

func (d *chDest) open(t *testing.T) *Sink {
	t.Helper()
	s, err := Open(t.Context(), d.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.WithoutCancel(t.Context())) })
	return s
}

func (d *chDest) Open(t *testing.T) sinks.Sink { return d.open(t) }

// eventTables are the tables holding one row per delivered event.
var eventTables = []string{tableTracks, tableIdentifies, tablePages, tableScreens, tableGroups, tableAliases}

func (d *chDest) Delivered(t *testing.T) []string {
	t.Helper()
	var parts []string
	for _, tb := range eventTables {
		parts = append(parts, "SELECT message_id FROM "+quoteIdent(d.db)+"."+quoteIdent(tb))
	}
	return d.strings(t, strings.Join(parts, " UNION ALL "))
}

func (d *chDest) strings(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := d.conn.Query(t.Context(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (d *chDest) count(t testing.TB, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := d.conn.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (d *chDest) exec(t testing.TB, q string) {
	t.Helper()
	if err := d.conn.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// Break plays an outage (Retryable) or a table someone changed by hand
// (Permanent: a column the sink inserts into is dropped).
func (d *chDest) Break(t *testing.T, class sinks.Class) {
	switch class {
	case sinks.Retryable:
		d.proxy.setDown(true)
	case sinks.Permanent:
		for _, tb := range eventTables {
			d.exec(t, "ALTER TABLE "+quoteIdent(d.db)+"."+quoteIdent(tb)+" DROP COLUMN source")
		}
	}
}

func (d *chDest) Fix(t *testing.T) {
	if d.proxy.down.Load() {
		d.proxy.setDown(false)
		return
	}
	for _, tb := range eventTables {
		d.exec(t, "ALTER TABLE "+quoteIdent(d.db)+"."+quoteIdent(tb)+" ADD COLUMN IF NOT EXISTS source LowCardinality(String)")
	}
}

// Remaining counts the subjects' rows in every table with user columns.
func (d *chDest) Remaining(t *testing.T, req sinks.DeleteRequest) int {
	t.Helper()
	ids := append(append([]string{}, req.UserIDs...), req.AnonymousIDs...)
	tables := d.strings(t, "SELECT DISTINCT table FROM system.columns WHERE database = ? AND name = 'anonymous_id'", d.db)
	total := 0
	ctx := ch.Context(t.Context(), ch.WithSettings(ch.Settings{"max_query_size": 16 << 20}))
	for _, tb := range tables {
		var n uint64
		q := "SELECT count() FROM " + quoteIdent(d.db) + "." + quoteIdent(tb) + " WHERE workspace = ? AND (has(?, user_id) OR has(?, anonymous_id))"
		if err := d.conn.QueryRow(ctx, q, req.Workspace, ids, ids).Scan(&n); err != nil {
			t.Fatalf("%s: %v", tb, err)
		}
		total += int(n)
	}
	return total
}

var _ sinktest.Eraser = (*chDest)(nil)
