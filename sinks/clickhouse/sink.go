package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
)

// Sink writes events into sluice's ClickHouse tables. See the package doc.
type Sink struct {
	cfg  Config
	conn driver.Conn
	ddl  ddl
	cat  *catalog
	wh   *Warehouse // deletes, on the same connections
	// core are the inserted columns of each core table, with their types.
	core map[string][]ch.ColumnNameAndType

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
	// horizon is, per partition, the highest offset any table may hold a
	// row of: what the tables held when the partition was first written (a
	// predecessor's writes), then raised by each successful Write. A batch
	// starting beyond it needs no look-up of rows already present. A failed
	// Write forgets the partition, so the next one asks the tables again.
	horizon map[partitionKey]int64
	// noLookup turns the look-up of rows already present off, so tests can
	// prove the server's insert deduplication on its own.
	noLookup bool
	// noNative sends every insert through clickhouse-go's batch: set at
	// open for the native protocol (the sink's own blocks go as an HTTP
	// body holding the statement and its data) and for servers that do not
	// read them, and by tests comparing both ways.
	noNative bool
}

type partitionKey struct {
	topic     string
	partition int32
}

// MinVersion is the oldest ClickHouse server the sink supports: the JSON
// type is production-ready from 25.3, lightweight DELETE long before.
const MinVersion = "25.3"

// MinVersionStringColumns is the oldest server for jsonColumns: string,
// which needs lightweight DELETE (23.3) only.
const MinVersionStringColumns = "23.3"

// MinVersionNativeJSON is the oldest server that reads JSON columns in the
// flattened object serialization the sink writes itself (see nativeInsert);
// with older servers JSON columns go as text.
const MinVersionNativeJSON = "25.6"

// Open connects, checks the server version, and creates or migrates the
// database and core tables. ctx bounds the opening only.
func Open(ctx context.Context, cfg Config) (*Sink, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	conn, err := connect(cfg, cfg.InFlight+2)
	if err != nil {
		return nil, err
	}
	s := &Sink{cfg: cfg, conn: conn, ddl: newDDL(cfg), horizon: map[partitionKey]int64{}}
	s.cat = &catalog{conn: conn, ddl: s.ddl, cfg: &s.cfg, layouts: map[layoutKey]*layout{}}
	s.wh = &Warehouse{cfg: cfg, conn: conn, ddl: s.ddl}
	if err := s.open(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (s *Sink) open(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse: connecting to %s: %w", strings.Join(s.cfg.Addrs, ","), err)
	}
	var version string
	if err := s.conn.QueryRow(ctx, "SELECT version()").Scan(&version); err != nil {
		return fmt.Errorf("clickhouse: reading the server version: %w", err)
	}
	min := MinVersion
	if s.cfg.JSONColumns == JSONString {
		min = MinVersionStringColumns
	}
	if versionLess(version, min) {
		return fmt.Errorf("clickhouse: server %s is older than %s, the oldest sluice supports (JSON type, lightweight DELETE)", version, min)
	}
	s.noNative = s.noNative || s.cfg.Protocol != ProtocolHTTP ||
		s.cfg.JSONColumns == JSONType && versionLess(version, MinVersionNativeJSON)
	shards := 0
	if s.cfg.Cluster != "" {
		var n uint64
		if err := s.conn.QueryRow(ctx, "SELECT uniqExact(shard_num) FROM system.clusters WHERE cluster = ?", s.cfg.Cluster).Scan(&n); err != nil {
			return fmt.Errorf("clickhouse: reading the shards of cluster %s: %w", s.cfg.Cluster, err)
		}
		if n == 0 {
			return fmt.Errorf("clickhouse: cluster %s: not in system.clusters of %s (the servers' remote_servers)", s.cfg.Cluster, strings.Join(s.cfg.Addrs, ","))
		}
		shards = int(n)
	}
	core, err := s.cat.ensureCore(ctx, shards)
	if err != nil {
		return err
	}
	s.core = core
	s.ddl = s.cat.ddl // with the layout ensureCore decided
	return nil
}

// connect opens a clickhouse-go pool of at most conns connections; it does
// not dial yet.
func connect(cfg Config, conns int) (driver.Conn, error) {
	tlsCfg, err := cfg.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	opts := &ch.Options{
		Addr:             cfg.Addrs,
		Protocol:         ch.HTTP,
		TLS:              tlsCfg,
		Auth:             ch.Auth{Username: cfg.Username, Password: cfg.Password},
		DialTimeout:      cfg.DialTimeout,
		ReadTimeout:      cfg.QueryTimeout,
		MaxOpenConns:     conns,
		MaxIdleConns:     conns,
		ConnOpenStrategy: ch.ConnOpenInOrder,
	}
	if cfg.Protocol == ProtocolNative {
		opts.Protocol = ch.Native
	}
	switch cfg.Compression {
	case "lz4":
		opts.Compression = &ch.Compression{Method: ch.CompressionLZ4}
	case "zstd":
		opts.Compression = &ch.Compression{Method: ch.CompressionZSTD}
	case "gzip":
		opts.Compression = &ch.Compression{Method: ch.CompressionGZIP}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	return conn, nil
}

// versionLess compares dotted version numbers ("25.3.1.2" < "25.4").
func versionLess(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		if i >= len(h) {
			return true
		}
		a, _ := strconv.Atoi(h[i])
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a < b
		}
	}
	return false
}

// Limits are the configured batch bounds.
func (s *Sink) Limits() sinks.Limits {
	return sinks.Limits{MaxEvents: s.cfg.BatchEvents, MaxBytes: s.cfg.BatchBytes, MaxWait: s.cfg.BatchWait, MaxInFlight: s.cfg.InFlight}
}

// Close waits for Writes in flight, then closes the connections.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return errors.Join(ctx.Err(), s.conn.Close())
	}
	return s.conn.Close()
}

// enter registers a Write or Delete, failing once the sink is closed.
func (s *Sink) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("clickhouse: %w", sinks.ErrClosed)
	}
	s.inflight.Add(1)
	return nil
}

// DDLStatements returns the DDL statements this Sink has run, in order.
func (s *Sink) DDLStatements() []string {
	s.cat.mu.Lock()
	defer s.cat.mu.Unlock()
	return slices.Clone(s.cat.statements)
}

// group is the rows of one insert: a core table's, or a typed table's of
// one schema version.
type group struct {
	table  string
	cols   []ch.ColumnNameAndType
	layout *layout // typed tables only
	rows   []int   // indexes into the batch
	// check says whether rows already present must be looked for.
	check bool
}

// Write inserts the batch's events into their tables: each event into the
// table of its call type, identify calls with a userId also into users, and
// planned track events also into their typed table. Events whose schema is
// refused, or whose plan version is not known yet, go into no table and are
// named in a *sinks.BatchError.
//
// Each insert carries an insert_deduplication_token derived from the topic,
// partition and offsets of its rows, so a batch re-delivered with the same
// events is dropped by the server. When the partition's history is not
// certain (the first batch after Open, or after a failed Write) the sink
// also looks up which of the batch's offsets each table already holds and
// skips those rows, so a re-delivered batch with other bounds leaves no
// duplicate either.
func (s *Sink) Write(ctx context.Context, b sinks.Batch) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.inflight.Done()
	if err := b.Validate(); err != nil {
		return err
	}
	pk := partitionKey{b.Topic, b.Partition}
	s.mu.Lock()
	horizon, known := s.horizon[pk]
	delete(s.horizon, pk) // until this Write succeeds
	s.mu.Unlock()
	if !known && !s.noLookup {
		var err error
		if horizon, err = s.highestOffset(ctx, pk); err != nil {
			return err
		}
	}
	check := b.FirstOffset <= horizon && !s.noLookup

	prots := make([]protocols, len(b.Events))
	groups, failed, err := s.route(ctx, &b, prots, check)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if g.check {
			if err := s.skipPresent(ctx, &b, g); err != nil {
				return err
			}
		}
	}
	for _, g := range groups {
		bad, err := s.insert(ctx, &b, prots, g, g.rows)
		if err != nil {
			return err
		}
		for _, i := range bad.rows {
			failed[i] = bad.err
		}
	}
	s.mu.Lock()
	s.horizon[pk] = max(horizon, b.LastOffset)
	s.mu.Unlock()
	return batchError(failed)
}

// route sorts the batch's events into insert groups, resolving typed-table
// layouts (which may run DDL). failed maps refused events to their error.
func (s *Sink) route(ctx context.Context, b *sinks.Batch, prots []protocols, check bool) ([]*group, map[int]error, error) {
	failed := map[int]error{}
	core := map[string]*group{}
	typed := map[*layout]*group{}
	var order []*group
	add := func(g *group, i int) {
		g.rows = append(g.rows, i)
	}
	coreGroup := func(table string) *group {
		g := core[table]
		if g == nil {
			// users rows replace each other by received_at, so a row
			// written twice is harmless and needs no look-up.
			g = &group{table: table, cols: s.core[table], check: check && table != tableUsers}
			core[table] = g
			order = append(order, g)
		}
		return g
	}
	for i := range b.Events {
		e := &b.Events[i]
		table := tableOf(e.Type)
		if table == "" {
			failed[i] = fmt.Errorf("clickhouse: event %s: unknown call type %q", e.MessageID, e.Type)
			continue
		}
		prots[i] = readProtocols(e.Context)
		var l *layout
		if e.Type == schemas.Track && prots[i].plan != "" && s.cfg.Plans != nil {
			var err error
			if l, err = s.layoutOf(ctx, e, &prots[i]); err != nil {
				var se *sinks.SchemaError
				if errors.As(err, &se) || errors.Is(err, sinks.ErrPlanNotReady) {
					failed[i] = err
					continue
				}
				return nil, nil, err
			}
		}
		add(coreGroup(table), i)
		if e.Type == schemas.Identify && e.UserID != "" {
			add(coreGroup(tableUsers), i)
		}
		if l != nil {
			g := typed[l]
			if g == nil {
				g = &group{table: l.table, cols: l.cols, layout: l, check: check}
				typed[l] = g
				order = append(order, g)
			}
			add(g, i)
		}
	}
	return order, failed, nil
}

// layoutOf resolves a planned track event's typed-table layout: nil for an
// event its plan version does not plan.
func (s *Sink) layoutOf(ctx context.Context, e *schemas.Event, p *protocols) (*layout, error) {
	pl := s.cfg.Plans(p.plan, int(p.planVersion))
	if pl == nil {
		return nil, fmt.Errorf("clickhouse: plan %s v%d: %w", p.plan, p.planVersion, sinks.ErrPlanNotReady)
	}
	version := p.eventVersion
	if version == 0 {
		version = p.clientVersion
	}
	// Version 0 is the latest; a version the plan lacks made the event
	// unplanned: it has no typed table.
	schema := pl.Lookup(plan.Track, e.Event, int(version))
	if schema == nil {
		return nil, nil
	}
	p.eventVersion = uint32(schema.Version)
	key := layoutKey{plan: p.plan, planVersion: p.planVersion, event: e.Event, eventVersion: p.eventVersion}
	l, err := s.cat.layoutFor(ctx, key, schema)
	if err != nil {
		return nil, err
	}
	if l.err != nil {
		s.cfg.Logger.Warn("refusing events of an incompatible schema", "error", l.err)
		return nil, l.err
	}
	return l, nil
}

// batchError turns the failed events into a *sinks.BatchError, nil if none.
func batchError(failed map[int]error) error {
	if len(failed) == 0 {
		return nil
	}
	be := &sinks.BatchError{}
	var errs []error
	seen := map[string]bool{}
	for i, err := range failed {
		be.Failed = append(be.Failed, i)
		if msg := err.Error(); !seen[msg] {
			seen[msg] = true
			errs = append(errs, err)
		}
	}
	slices.Sort(be.Failed)
	if len(errs) == 1 {
		be.Err = errs[0]
	} else {
		be.Err = errors.Join(errs...)
	}
	return be
}
