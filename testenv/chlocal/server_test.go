package chlocal

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg Config
		ok  bool
	}{
		{Config{DataPath: "d"}, true},
		{Config{DataPath: "d", Addr: "127.0.0.1:0"}, true},
		{Config{DataPath: "d", Addr: "127.0.0.2:8123"}, true},
		{Config{DataPath: "d", Addr: "localhost:8123"}, true},
		{Config{DataPath: "d", Addr: "[::1]:8123"}, true},
		{Config{DataPath: "d", Addr: "0.0.0.0:8123"}, false},
		{Config{DataPath: "d", Addr: ":8123"}, false},
		{Config{DataPath: "d", Addr: "[::]:8123"}, false},
		{Config{DataPath: "d", Addr: "192.168.1.5:8123"}, false},
		{Config{DataPath: "d", Addr: "devbox.lan:8123"}, false},
		{Config{DataPath: "d", Addr: "0.0.0.0:8123", AllowNonLoopback: true}, true},
		{Config{DataPath: "d", Addr: "devbox.lan:8123", AllowNonLoopback: true}, true},
		{Config{DataPath: "d", Addr: "127.0.0.1"}, false},
		{Config{DataPath: "d", MaxExecutionTime: -time.Second}, false},
		{Config{DataPath: "d", Connections: -1}, false},
		{Config{}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", tc.cfg, err, tc.ok)
		}
	}
}

// startBeside starts a second server in this process on the shared server's
// storage (the engine serves one path per process), closed when t ends.
func startBeside(t *testing.T, cfg Config) *Server {
	t.Helper()
	shared, _ := ForTest(t)
	cfg.DataPath = shared.lanes[0].engine.Path()
	cfg.Connections = 2
	srv, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A server allowed beyond loopback says so at start, answers requests that
// name it by any IP address, and still refuses other host names.
func TestNonLoopbackServer(t *testing.T) {
	var logs syncBuffer
	srv := startBeside(t, Config{Addr: "0.0.0.0:0", AllowNonLoopback: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "beyond loopback") {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
	_, port, _ := net.SplitHostPort(srv.Addr())
	url := "http://127.0.0.1:" + port + "/"
	for host, ok := range map[string]bool{"192.0.2.7:" + port: true, "127.0.0.1:" + port: true, "evil.example:" + port: false} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader("SELECT 1"))
		req.Host = host
		if resp := do(t, req); ok {
			expectOK(t, resp, "1\n")
		} else {
			expectException(t, resp, http.StatusForbidden, "497")
		}
	}
}

// Config.MaxExecutionTime ends a runaway statement.
func TestMaxExecutionTime(t *testing.T) {
	srv := startBeside(t, Config{Addr: "127.0.0.1:0", MaxExecutionTime: time.Second})
	expectOK(t, post(t, srv, nil, "SELECT getSetting('max_execution_time')"), "1\n")
	expectException(t, post(t, srv, nil, "SELECT sleepEachRow(0.5) FROM numbers(6)"), http.StatusRequestTimeout, "159")

	// The shared server's default, restored after a client's own.
	shared, _ := ForTest(t)
	expectOK(t, post(t, shared, nil, "SELECT getSetting('max_execution_time')"), "60\n")
	expectOK(t, post(t, shared, q("max_execution_time", "5"), "SELECT getSetting('max_execution_time')"), "5\n")
	expectOK(t, post(t, shared, nil, "SET max_execution_time = 0"), "")
	expectOK(t, post(t, shared, nil, "SELECT getSetting('max_execution_time')"), "60\n")
}
