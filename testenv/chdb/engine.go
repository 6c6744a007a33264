package chdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"
)

// ErrClosed is returned by Query on an Engine that has been closed.
var ErrClosed = errors.New("chdb: engine closed")

// DefaultFormat is the output format Query uses when given none.
const DefaultFormat = "TabSeparated"

// Engine is one connection to the in-process ClickHouse engine. Its methods
// are safe for concurrent use; statements run one at a time.
type Engine struct {
	lib  *library
	path string
	// turn is a one-slot semaphore: holding it means owning the connection.
	// A channel rather than a mutex so that waiting honours the caller's context.
	turn   chan struct{}
	conn   *uintptr // a C cell holding the chdb_connection; owned by whoever holds turn
	closed bool     // guarded by turn
}

// booted is the process-wide engine: the storage path it runs on and how many
// Engines hold a connection to it. The engine boots with the first connection
// and shuts down with the last, and serves one path at a time.
var booted struct {
	mu   sync.Mutex
	path string
	open int
}

// Open connects to the engine with its storage at path (created if missing),
// booting the engine if no Engine is open. It fails if Engines are open on a
// different path. Each setting is "name=value", a ClickHouse setting applied to
// every statement of this Engine (for example "max_threads=2"); an unknown
// setting or a bad value fails Open with the engine's *Exception.
func Open(path string, settings ...string) (*Engine, error) {
	lib, err := loadLibrary()
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, errors.New("chdb: Open needs a storage path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("chdb: storage path %q: %w", path, err)
	}
	// chDB 26.5 ignores settings given as --name=value arguments, so they are
	// applied with SET, which lasts for the connection.
	var set []string
	for _, s := range settings {
		name, value, ok := strings.Cut(s, "=")
		if !ok || !isSettingName(name) {
			return nil, fmt.Errorf("chdb: setting %q is not name=value", s)
		}
		set = append(set, name+" = "+QuoteString(value))
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("chdb: storage path: %w", err)
	}

	booted.mu.Lock()
	defer booted.mu.Unlock()
	if booted.open > 0 && booted.path != abs {
		return nil, fmt.Errorf("chdb: the engine is running on %s; it serves one storage path per process, so close every Engine before opening %s", booted.path, abs)
	}
	conn := connect(lib, []string{"clickhouse", "--path=" + abs})
	if conn == nil {
		return nil, fmt.Errorf("chdb: the engine refused to start on %s", abs)
	}
	closeAtExit(lib, conn)
	booted.path = abs
	booted.open++
	e := &Engine{lib: lib, path: abs, turn: make(chan struct{}, 1), conn: conn}
	if len(set) > 0 {
		if _, err := e.run("SET "+strings.Join(set, ", "), DefaultFormat, nil); err != nil {
			e.closeLocked()
			return nil, err
		}
	}
	return e, nil
}

// QuoteString returns s as a ClickHouse string literal.
func QuoteString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// closeAtExit makes a C exit(3) close the connection before the engine's
// C++ destructors run. Go's os.Exit ends the process without exit(3), except
// under the race detector: there exit(3) runs the destructors of the engine
// library while the engine still works (merges, say), and the process crashes
// after its tests passed. exit(3) runs handlers in reverse order of
// registration and the engine registers destructors lazily as statements use
// new parts of it, so under the race detector the handler is registered again
// after every statement, to run first; each registration costs libc 32 bytes.
// Close makes the exit-time calls no-ops, as chdb_close_conn clears the cell.
func closeAtExit(lib *library, conn *uintptr) {
	if raceDetector && lib.atExit != nil {
		lib.atExit(lib.closeConnAddr, uintptr(unsafe.Pointer(conn)), 0)
	}
}

// connect calls chdb_connect with args, keeping the process's signal
// handlers (see the package doc). The C strings live until it returns. The
// connection is returned in a cell of C memory that outlives the process's
// Go code (see closeAtExit); chDB's own cell is not used after this.
func connect(lib *library, args []string) *uintptr {
	argv := make([]*byte, len(args)+1) // NULL-terminated, like main's argv
	var pin runtime.Pinner
	defer pin.Unpin()
	for i, a := range args {
		b := append([]byte(a), 0)
		pin.Pin(&b[0])
		argv[i] = &b[0]
	}
	signals := saveSignals()
	defer signals.restoreReplaced()
	raw := lib.connect(int32(len(args)), &argv[0])
	if raw == nil || *raw == 0 {
		return nil
	}
	cell := lib.calloc(1, unsafe.Sizeof(uintptr(0)))
	if cell == nil {
		lib.closeConn(raw)
		return nil
	}
	*cell = *raw
	return cell
}

// isSettingName reports whether s looks like a ClickHouse setting name.
func isSettingName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Path returns the absolute storage path the Engine runs on.
func (e *Engine) Path() string { return e.path }

// Query runs one SQL statement and returns its output in format (DefaultFormat
// if empty; a FORMAT clause in sql wins). params bind the statement's
// {name:Type} placeholders on the engine side; each value is ClickHouse's
// escaped text form of the value, as in the HTTP interface's param_<name>.
// Query waits for its turn until ctx ends; a started statement runs to the end.
// An error from the engine is an *Exception.
func (e *Engine) Query(ctx context.Context, sql, format string, params map[string]string) (*Result, error) {
	if format == "" {
		format = DefaultFormat
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case e.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-e.turn }()
	if e.closed {
		return nil, ErrClosed
	}
	return e.run(sql, format, params)
}

// run executes one statement; the caller holds the turn.
func (e *Engine) run(sql, format string, params map[string]string) (*Result, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	query, queryLen := cBytes(&pin, sql)
	fmtPtr, fmtLen := cBytes(&pin, format)
	conn := *e.conn

	var res uintptr
	if len(params) == 0 {
		res = e.lib.queryN(conn, query, queryLen, fmtPtr, fmtLen)
	} else {
		n := len(params)
		names, values := make([]*byte, 0, n), make([]*byte, 0, n)
		nameLens, valueLens := make([]uintptr, 0, n), make([]uintptr, 0, n)
		for k, v := range params {
			p, l := cBytes(&pin, k)
			names, nameLens = append(names, p), append(nameLens, l)
			p, l = cBytes(&pin, v)
			values, valueLens = append(values, p), append(valueLens, l)
		}
		res = e.lib.queryParamsN(conn, query, queryLen, fmtPtr, fmtLen,
			&names[0], &nameLens[0], &values[0], &valueLens[0], uintptr(n))
	}
	defer closeAtExit(e.lib, e.conn) // after destroy, which may register destructors too
	if res == 0 {
		return nil, &Exception{Code: CodeUnknownException, Message: "chdb: the engine returned no result"}
	}
	defer e.lib.destroy(res)
	if msg := e.lib.errorText(res); msg != "" {
		return nil, parseException(msg)
	}
	out := &Result{
		Elapsed:      time.Duration(e.lib.elapsed(res) * float64(time.Second)),
		RowsRead:     e.lib.rowsRead(res),
		BytesRead:    e.lib.bytesRead(res),
		RowsWritten:  e.lib.rowsWritten(res),
		BytesWritten: e.lib.bytesWritten(res),
	}
	if n := e.lib.length(res); n > 0 {
		if buf := e.lib.buffer(res); buf != nil {
			out.Data = bytes.Clone(unsafe.Slice(buf, n))
		}
	}
	return out, nil
}

// nonEmpty stands in for the data pointer of empty strings: the engine gets a
// valid pointer with length zero.
var nonEmpty = [1]byte{}

// cBytes returns a pinned copy of s for the engine, which gets pointer and
// length (chDB's _n functions need no terminating NUL).
func cBytes(pin *runtime.Pinner, s string) (*byte, uintptr) {
	if s == "" {
		return &nonEmpty[0], 0
	}
	b := []byte(s)
	pin.Pin(&b[0])
	return &b[0], uintptr(len(b))
}

// Close closes the connection after any running statement; closing the last
// open Engine shuts the engine down. Close is idempotent.
func (e *Engine) Close() error {
	e.turn <- struct{}{}
	defer func() { <-e.turn }()
	if e.closed {
		return nil
	}
	e.closed = true
	booted.mu.Lock()
	defer booted.mu.Unlock()
	e.closeLocked()
	return nil
}

// closeLocked closes the connection; the caller holds booted.mu.
func (e *Engine) closeLocked() {
	signals := saveSignals()
	e.lib.closeConn(e.conn)
	signals.restoreReplaced()
	booted.open--
}
