package chlocal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// shared is the test process's one server for ForTest: the engine serves one
// storage path per process, so every test in the process shares it. It lives
// until the process exits.
var shared struct {
	once sync.Once
	srv  *Server
	err  error
	seq  atomic.Int64
}

// sharedDirPrefix names the shared server's storage directories in the
// system temp dir: sluice-chlocal-<pid>-<random>.
const sharedDirPrefix = "sluice-chlocal-"

// ForTest returns the test process's local ClickHouse server, started on first
// use in a temporary directory, and a database created for tb alone and
// dropped when tb ends. Tests in one process may use it in parallel; their
// statements run one at a time. A server that cannot start fails tb.
func ForTest(tb testing.TB) (srv *Server, database string) {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = startShared() })
	if shared.err != nil {
		tb.Fatalf("chlocal: starting the shared local ClickHouse: %v", shared.err)
	}
	srv = shared.srv
	database = fmt.Sprintf("test_%s_%d", sanitize(tb.Name()), shared.seq.Add(1))
	if err := srv.exec(tb.Context(), "CREATE DATABASE "+quoteIdentifier(database)); err != nil {
		tb.Fatalf("chlocal: creating database %s: %v", database, err)
	}
	tb.Cleanup(func() {
		// Not SYNC: chDB never runs the task that removes dropped data, so
		// SYNC would wait forever. The data goes with the directory.
		if err := srv.exec(context.WithoutCancel(tb.Context()), "DROP DATABASE IF EXISTS "+quoteIdentifier(database)); err != nil {
			tb.Errorf("chlocal: dropping database %s: %v", database, err)
		}
	})
	return srv, database
}

// startShared starts the shared server in a new temporary directory, first
// removing the directories of earlier test processes that have exited.
func startShared() (*Server, error) {
	removeStaleDirs()
	dir, err := os.MkdirTemp("", sharedDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, err
	}
	// The server outlives any one test, so no test's context may bound it.
	return Start(context.Background(), Config{DataPath: dir, Addr: "127.0.0.1:0"})
}

// removeStaleDirs deletes shared-server directories whose process is gone: a
// test process cannot remove its own directory, as nothing runs at its exit.
func removeStaleDirs() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), sharedDirPrefix+"*"))
	for _, dir := range matches {
		pid, _, _ := strings.Cut(strings.TrimPrefix(filepath.Base(dir), sharedDirPrefix), "-")
		if processGone(pid) {
			_ = os.RemoveAll(dir)
		}
	}
}

// sanitize turns a test name into an identifier fragment.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}
