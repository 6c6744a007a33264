//go:build !linux

package chdb

import (
	"errors"
	"runtime"
)

// LibraryEnv is the environment variable that, when set, names the libchdb.so
// to load instead of the one `make deps` fetches.
const LibraryEnv = "SLUICE_CHDB_LIB"

// EngineVersion is the chDB release whose library this package expects.
const EngineVersion = "26.5.3"

// LibraryPath fails: the engine library is built for Linux only.
func LibraryPath() (string, error) { return "", errUnsupported }

var errUnsupported = errors.New("chdb: the local ClickHouse engine runs on linux only, not " + runtime.GOOS)

func loadLibrary() (*library, error) { return nil, errUnsupported }
