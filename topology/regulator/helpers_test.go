package regulator

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/topics"
)

const testWorkspace = "acme"

// connectCH opens a clickhouse-go connection over HTTP to addr.
func connectCH(t testing.TB, addr, database string) driver.Conn {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Protocol: ch.HTTP, Addr: []string{addr}, Auth: ch.Auth{Database: database},
		DialTimeout: 2 * time.Second, ReadTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// openWarehouse opens the Warehouse of database on the ClickHouse at addr,
// as the wiring does from the clickhouse destination's settings.
func openWarehouse(t testing.TB, addr, database string) *clickhouse.Warehouse {
	t.Helper()
	cfg, err := clickhouse.FromSettings("warehouse", map[string]any{"addr": addr, "database": database, "dialTimeout": "2s", "queryTimeout": "30s"})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := clickhouse.OpenWarehouse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	return wh
}

// newWarehouse starts (or shares) the local ClickHouse and returns a
// database of the test's own with tables shaped as sluice's (workspace,
// user_id, anonymous_id): a tracks-like, a pages-like and a users-like one,
// and one without subjects.
func newWarehouse(t testing.TB) (*chlocal.Server, driver.Conn, string) {
	t.Helper()
	srv, db := chlocal.ForTest(t)
	conn := connectCH(t, srv.Addr(), db)
	for _, ddl := range []string{
		`CREATE TABLE tracks (message_id String, workspace LowCardinality(String), user_id String, anonymous_id String, event String,
			ts DateTime64(3, 'UTC')) ENGINE = MergeTree ORDER BY (workspace, user_id, message_id)`,
		`CREATE TABLE pages (message_id String, workspace LowCardinality(String), user_id String, anonymous_id String, name String)
			ENGINE = MergeTree ORDER BY message_id`,
		`CREATE TABLE users (workspace LowCardinality(String), user_id String, anonymous_id String, email String)
			ENGINE = ReplacingMergeTree ORDER BY (workspace, user_id)`,
		`CREATE TABLE unrelated (id String) ENGINE = MergeTree ORDER BY id`,
	} {
		if err := conn.Exec(t.Context(), ddl); err != nil {
			t.Fatal(err)
		}
	}
	return srv, conn, db
}

// insertRows puts n track rows and one page row for each user, plus
// anonymous rows for the given anonymousIds.
func insertRows(t testing.TB, conn driver.Conn, users []string, n int, anons map[string]string) {
	t.Helper()
	ctx := t.Context()
	b, err := conn.PrepareBatch(ctx, "INSERT INTO tracks")
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, u := range users {
		for i := range n {
			if err := b.Append(fmt.Sprintf("%s-%d", u, i), testWorkspace, u, "", "Clicked", ts); err != nil {
				t.Fatal(err)
			}
		}
	}
	for anon := range anons {
		if err := b.Append("anon-"+anon, testWorkspace, "", anon, "Viewed", ts); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	p, err := conn.PrepareBatch(ctx, "INSERT INTO pages")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if err := p.Append("p-"+u, testWorkspace, u, "", "Home"); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Send(); err != nil {
		t.Fatal(err)
	}
	u, err := conn.PrepareBatch(ctx, "INSERT INTO users")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range users {
		if err := u.Append(testWorkspace, id, "", id+"@example.com"); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Send(); err != nil {
		t.Fatal(err)
	}
}

// rowsOf counts a subject's rows in a table.
func rowsOf(t testing.TB, conn driver.Conn, table, column, id string) uint64 {
	t.Helper()
	var n uint64
	if err := conn.QueryRow(t.Context(), "SELECT count() FROM "+table+" WHERE "+column+" = ?", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// newBroker starts an embedded broker with every sluice topic of the given
// destinations created.
func newBroker(t testing.TB, dests ...string) (*broker.Broker, *kadm.Client) {
	t.Helper()
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	names := topics.Names{Prefix: "sluice."}
	if err := topics.Ensure(t.Context(), adm, names.All(3, dests)); err != nil {
		t.Fatal(err)
	}
	return b, adm
}

// openService opens a Service on the broker and closes it when the test ends.
func openService(t testing.TB, b *broker.Broker, cfg Config) *Service {
	t.Helper()
	cfg.Workspace = testWorkspace
	cfg.Brokers = []string{b.Addr()}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 20 * time.Millisecond
		cfg.MaxBackoff = 200 * time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	s, err := Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// runRegulator runs s.Run until the test ends or stop is called.
func runRegulator(t testing.TB, s *Service) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls s until the regulation satisfies ok, failing the test when
// the test's deadline (or two minutes) passes first.
func waitFor(t testing.TB, s *Service, id string, ok func(*Regulation) bool) *Regulation {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var last *Regulation
	for {
		r, found, err := s.Get(ctx, id)
		if err == nil && found {
			last = r
			if ok(r) {
				return r
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("regulation %s: condition not reached; last state: %+v", id, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func terminal(r *Regulation) bool { return r.OverallStatus.Terminal() }

// proxy forwards TCP connections to target; Down refuses and cuts every
// connection, Up accepts again on the same address.
type proxy struct {
	t      testing.TB
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newProxy(t testing.TB, target string) *proxy {
	p := &proxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// Down closes the listener and every connection through it.
func (p *proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.conns = map[net.Conn]bool{}
}

// Up listens again on the same address.
func (p *proxy) Up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}
