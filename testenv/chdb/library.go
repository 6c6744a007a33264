//go:build linux

package chdb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ebitengine/purego"
)

// LibraryEnv is the environment variable that, when set, names the libchdb.so
// to load instead of the one `make deps` fetches.
const LibraryEnv = "SLUICE_CHDB_LIB"

// EngineVersion is the chDB release whose library this package expects.
const EngineVersion = "26.5.3"

// LibraryPath returns the path of libchdb.so: $SLUICE_CHDB_LIB if set, else
// $HOME/.cache/sluice/chdb-26.5.3/libchdb.so. It fails, saying to run
// `make deps`, when no file is there.
func LibraryPath() (string, error) {
	path := os.Getenv(LibraryEnv)
	if path == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("chdb: locating libchdb.so: %w", err)
		}
		path = filepath.Join(home, ".cache", "sluice", "chdb-"+EngineVersion, "libchdb.so")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("chdb: the ClickHouse engine library is missing (%w): run `make deps` to fetch it, or set %s", err, LibraryEnv)
	}
	return path, nil
}

var loaded struct {
	mu  sync.Mutex
	lib *library
}

// loadLibrary loads libchdb.so once per process; a failed attempt is retried
// on the next call, so fetching the library fixes a running process too.
func loadLibrary() (*library, error) {
	loaded.mu.Lock()
	defer loaded.mu.Unlock()
	if loaded.lib != nil {
		return loaded.lib, nil
	}
	path, err := LibraryPath()
	if err != nil {
		return nil, err
	}
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("chdb: loading %s: %w", path, err)
	}
	lib := new(library)
	syms := []struct {
		fn   any
		name string
	}{
		{&lib.connect, "chdb_connect"},
		{&lib.closeConn, "chdb_close_conn"},
		{&lib.queryN, "chdb_query_n"},
		{&lib.queryParamsN, "chdb_query_with_params_n"},
		{&lib.buffer, "chdb_result_buffer"},
		{&lib.length, "chdb_result_length"},
		{&lib.errorText, "chdb_result_error"},
		{&lib.elapsed, "chdb_result_elapsed"},
		{&lib.rowsRead, "chdb_result_rows_read"},
		{&lib.bytesRead, "chdb_result_bytes_read"},
		{&lib.rowsWritten, "chdb_result_rows_written"},
		{&lib.bytesWritten, "chdb_result_bytes_written"},
		{&lib.destroy, "chdb_destroy_query_result"},
	}
	var missing []error
	for _, s := range syms {
		sym, err := purego.Dlsym(handle, s.name)
		if err != nil {
			missing = append(missing, err)
			continue
		}
		purego.RegisterFunc(s.fn, sym)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("chdb: %s is not chDB %s: %w", path, EngineVersion, errors.Join(missing...))
	}
	lib.closeConnAddr, _ = purego.Dlsym(handle, "chdb_close_conn")
	libc, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("chdb: loading libc: %w", err)
	}
	for _, s := range []struct {
		fn   any
		name string
	}{{&lib.calloc, "calloc"}, {&lib.atExit, "__cxa_atexit"}} {
		sym, err := purego.Dlsym(libc, s.name)
		if err != nil {
			return nil, fmt.Errorf("chdb: libc: %w", err)
		}
		purego.RegisterFunc(s.fn, sym)
	}
	loaded.lib = lib
	return lib, nil
}
