package chlocal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// restartEnv, set to "<phase>:<dir>", makes the test binary act as one side of
// TestRestartKeepsData instead of running tests. The engine serves one storage
// path per process and the other tests' shared server holds this process's,
// so restarts are tried in processes of their own.
const restartEnv = "SLUICE_CHLOCAL_RESTART"

func TestMain(m *testing.M) {
	if v := os.Getenv(restartEnv); v != "" {
		if err := restartPhase(v); err != nil {
			fmt.Fprintln(os.Stderr, "restart phase:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestRestartKeepsData writes through one server, closes it and the engine,
// starts again on the same path in the same process and reads; then a new
// process starts on the path and reads again.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	for _, phase := range []string{"write-and-reopen", "read"} {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), restartEnv+"="+phase+":"+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("phase %s: %v\n%s", phase, err, out)
		}
	}
}

const restartRows = 1000

func restartPhase(v string) error {
	phase, dir, _ := strings.Cut(v, ":")
	ctx := context.Background()
	switch phase {
	case "write-and-reopen":
		srv, err := Start(ctx, Config{DataPath: dir, Addr: "127.0.0.1:0"})
		if err != nil {
			return err
		}
		if err := restartWrite(ctx, srv); err != nil {
			return err
		}
		if err := srv.Close(); err != nil {
			return err
		}
		// The same process, the same path: the engine shuts down and boots.
		if srv, err = Start(ctx, Config{DataPath: dir, Addr: "127.0.0.1:0"}); err != nil {
			return err
		}
		return errors.Join(restartRead(ctx, srv), srv.Close())
	case "read":
		srv, err := Start(ctx, Config{DataPath: dir, Addr: "127.0.0.1:0"})
		if err != nil {
			return err
		}
		return errors.Join(restartRead(ctx, srv), srv.Close())
	}
	return fmt.Errorf("unknown phase %q", phase)
}

func restartConn(srv *Server) (clickhouse.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{Protocol: clickhouse.HTTP, Addr: []string{srv.Addr()}})
}

func restartWrite(ctx context.Context, srv *Server) error {
	conn, err := restartConn(srv)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.Exec(ctx, "CREATE TABLE kept (id UInt64, s String) ENGINE = MergeTree ORDER BY id"); err != nil {
		return err
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO kept")
	if err != nil {
		return err
	}
	for i := range restartRows {
		if err := batch.Append(uint64(i), fmt.Sprint("row-", i)); err != nil {
			return err
		}
	}
	if err := batch.Send(); err != nil {
		return err
	}
	return conn.Exec(ctx, "DELETE FROM kept WHERE id < 10")
}

func restartRead(ctx context.Context, srv *Server) error {
	conn, err := restartConn(srv)
	if err != nil {
		return err
	}
	defer conn.Close()
	var n, maxID uint64
	if err := conn.QueryRow(ctx, "SELECT count(), max(id) FROM kept").Scan(&n, &maxID); err != nil {
		return err
	}
	if n != restartRows-10 || maxID != restartRows-1 {
		return fmt.Errorf("after restart: %d rows, max id %d; want %d, %d", n, maxID, restartRows-10, restartRows-1)
	}
	return nil
}
