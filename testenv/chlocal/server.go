package chlocal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// DefaultAddr is where `sluice dev` serves the ClickHouse HTTP interface.
const DefaultAddr = "127.0.0.1:8123"

// Config configures a local ClickHouse server.
type Config struct {
	// DataPath is the engine's storage directory, created if missing and kept
	// across restarts. Required. One process serves one DataPath at a time.
	DataPath string
	// Addr is the TCP address to listen on; "127.0.0.1:0" picks a free port.
	// Defaults to DefaultAddr. It must be a loopback address unless
	// AllowNonLoopback is set.
	Addr string
	// AllowNonLoopback lets Addr be an address other machines can reach.
	// DANGER: the server has no users or passwords, so anyone who reaches it
	// can read, change and drop every table. Default false.
	AllowNonLoopback bool
	// Logger receives a debug record per query and the server's errors.
	// Defaults to discarding them.
	Logger *slog.Logger
	// Connections is how many statements may run at once, each on its own
	// engine connection; further requests wait for one. Default 16.
	Connections int
	// MaxExecutionTime is the max_execution_time every statement starts with,
	// so a runaway query frees its connection; a client's own
	// max_execution_time wins. Default one minute.
	MaxExecutionTime time.Duration
}

// Defaults of Config's fields.
const (
	defaultConnections      = 16
	defaultMaxExecutionTime = time.Minute
)

// Validate reports the first field that is unusable.
func (c Config) Validate() error {
	if c.DataPath == "" {
		return errors.New("chlocal: Config.DataPath is required")
	}
	if c.Addr != "" {
		loopback, err := isLoopback(c.Addr)
		if err != nil {
			return fmt.Errorf("chlocal: Config.Addr %q: %w", c.Addr, err)
		}
		if !loopback && !c.AllowNonLoopback {
			return fmt.Errorf("chlocal: Config.Addr %q is not a loopback address: the local ClickHouse has no users or passwords; set AllowNonLoopback to serve other machines anyway", c.Addr)
		}
	}
	if c.Connections < 0 {
		return fmt.Errorf("chlocal: Config.Connections %d must not be negative", c.Connections)
	}
	if c.MaxExecutionTime < 0 {
		return fmt.Errorf("chlocal: Config.MaxExecutionTime %v must not be negative", c.MaxExecutionTime)
	}
	return nil
}

// isLoopback reports whether a host:port address is on loopback only.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback(), nil
}

// Server serves the ClickHouse HTTP interface in front of the in-process engine.
type Server struct {
	listener net.Listener
	http     *http.Server
	log      *slog.Logger
	served   chan error // Serve's result

	// idle holds the lanes no request holds. A request holds one lane for
	// all its statements (session setup and the client's statement), so
	// requests never see each other's session state; requests on different
	// lanes run at once. A channel so that waiting honours the request's
	// context.
	idle  chan *lane
	lanes []*lane

	statuses  httpStatuses
	access    *access   // what clients' statements may reach
	hosts     hostCheck // which Host headers name this server
	insertDir string    // where insert bodies are spooled for FROM INFILE
	// Engine facts for response headers, read once at start.
	displayName, timezone string
	// native describes the engine to the Native decoder.
	native column.ServerContext

	closeOnce sync.Once
	closeErr  error
}

// lane is one engine connection and its session state.
type lane struct {
	engine  *chdb.Engine
	session *session
}

// insertDirName is the directory under DataPath that holds insert bodies
// while the engine reads them, in a subdirectory per process id.
const insertDirName = "sluice-http-inserts"

// makeInsertDir creates this process's directory for insert bodies and
// removes those of processes that have exited: their bodies are garbage, the
// engine never saw them complete. Servers of one process share a directory.
func makeInsertDir(dataPath string) (string, error) {
	parent := filepath.Join(dataPath, insertDirName)
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if processGone(e.Name()) {
			_ = os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
	dir := filepath.Join(parent, strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("chlocal: %w", err)
	}
	return dir, nil
}

// processGone reports whether pid names a process that no longer exists.
func processGone(pid string) bool {
	if _, err := strconv.Atoi(pid); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join("/proc", pid))
	return errors.Is(err, fs.ErrNotExist)
}

// Start opens the engine on cfg.DataPath, listens on cfg.Addr and serves until
// Close. ctx bounds the start only. It fails if the engine cannot open (for
// example another DataPath is open in this process) or the address is taken.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	insertDir, err := makeInsertDir(cfg.DataPath)
	if err != nil {
		return nil, err
	}
	n := cfg.Connections
	if n == 0 {
		n = defaultConnections
	}
	if cfg.MaxExecutionTime == 0 {
		cfg.MaxExecutionTime = defaultMaxExecutionTime
	}
	s := &Server{log: log, idle: make(chan *lane, n), insertDir: insertDir, served: make(chan error, 1)}
	closeEngines := func() {
		for _, l := range s.lanes {
			l.engine.Close()
		}
	}
	for range n {
		engine, err := chdb.Open(cfg.DataPath)
		if err != nil {
			closeEngines()
			return nil, err
		}
		s.lanes = append(s.lanes, &lane{engine: engine})
	}
	if err := s.init(ctx, cfg.MaxExecutionTime); err != nil {
		closeEngines()
		return nil, err
	}
	for _, l := range s.lanes {
		s.idle <- l
	}
	var lc net.ListenConfig
	s.listener, err = lc.Listen(ctx, "tcp", cfg.Addr)
	if err != nil {
		closeEngines()
		return nil, fmt.Errorf("chlocal: %w", err)
	}
	s.hosts = newHostCheck(cfg.Addr, cfg.AllowNonLoopback)
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	go func() { s.served <- s.http.Serve(s.listener) }()
	log.Info("local ClickHouse serving", "url", s.URL(), "data", s.lanes[0].engine.Path(), "connections", n)
	if loopback, _ := isLoopback(cfg.Addr); !loopback {
		log.Warn("local ClickHouse listens beyond loopback: anyone who reaches it can read, change and drop every table (it has no users or passwords)", "addr", s.Addr())
	}
	return s, nil
}

// init prepares the engine connections the way a ClickHouse server's HTTP
// contexts start and reads what the response headers and the access check
// need.
func (s *Server) init(ctx context.Context, maxExecutionTime time.Duration) error {
	set := []string{
		// chDB turns on implicit_select (a bare expression is a SELECT); the
		// server's default is off, and so are clients' expectations.
		"implicit_select = 0",
		"max_execution_time = " + strconv.FormatFloat(maxExecutionTime.Seconds(), 'f', -1, 64),
	}
	for _, name := range valuesExpressionSettings {
		set = append(set, name+" = 0") // see access.check
	}
	for _, l := range s.lanes {
		if _, err := l.engine.Query(ctx, "SET "+strings.Join(set, ", "), "", nil); err != nil {
			return err
		}
		var err error
		if l.session, err = newSession(ctx, l.engine); err != nil {
			return err
		}
	}
	engine := s.lanes[0].engine
	res, err := engine.Query(ctx, "SELECT displayName(), timezone(), revision(), version()", "TabSeparated", nil)
	if err != nil {
		return err
	}
	fields := strings.Split(strings.TrimSuffix(string(res.Data), "\n"), "\t")
	if len(fields) != 4 {
		return fmt.Errorf("chlocal: unexpected server facts %q", res.Data)
	}
	s.displayName, s.timezone = fields[0], fields[1]
	s.native.Revision, _ = strconv.ParseUint(fields[2], 10, 64)
	version := strings.Split(fields[3], ".")
	for i, p := range []*uint64{&s.native.VersionMajor, &s.native.VersionMinor, &s.native.VersionPatch} {
		if i < len(version) {
			*p, _ = strconv.ParseUint(version[i], 10, 64)
		}
	}
	// The location only shapes Go values in between; bytes round-trip as is.
	if s.native.Timezone, err = time.LoadLocation(s.timezone); err != nil {
		s.native.Timezone = time.UTC
	}
	if s.statuses, err = loadHTTPStatuses(ctx, engine); err != nil {
		return err
	}
	s.access, err = loadAccess(ctx, engine)
	return err
}

// Addr returns the address the server listens on, with the port it got.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL returns the server's base URL, e.g. "http://127.0.0.1:8123".
func (s *Server) URL() string { return "http://" + s.Addr() }

// Close stops listening, drops open connections, waits for running
// statements to end and closes the engine. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		err := s.http.Close()
		if serveErr := <-s.served; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		for range s.lanes {
			l := <-s.idle // no request holds this lane from here on
			err = errors.Join(err, l.engine.Close())
		}
		s.closeErr = err
	})
	return s.closeErr
}

// acquire waits for an idle lane until ctx ends.
func (s *Server) acquire(ctx context.Context) (*lane, error) {
	select {
	case l := <-s.idle:
		return l, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Server) release(l *lane) { s.idle <- l }

// exec runs one statement outside any request, on the default database with
// the server's settings.
func (s *Server) exec(ctx context.Context, sql string) error {
	l, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	defer s.release(l)
	if err := l.session.prepare(ctx, "", nil); err != nil {
		return err
	}
	_, err = l.engine.Query(ctx, sql, "", nil)
	return err
}
