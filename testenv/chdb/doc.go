// Package chdb runs SQL on the ClickHouse engine loaded into this process.
//
// The engine is chDB's libchdb.so (ClickHouse 26.5 as a shared library, from the
// npm package @chdb/lib-linux-x64-gnu). It is loaded with purego, so building
// needs no C toolchain. `make deps` fetches the library to
// $HOME/.cache/sluice/chdb-26.5.3/libchdb.so; SLUICE_CHDB_LIB points elsewhere.
//
// # One storage path per process
//
// The engine keeps process-wide state: it boots on the first connection and
// shuts down when the last one closes. All open Engines must therefore share one
// storage path; Open with another path fails until every Engine is closed. This
// registry of the booted path is the package's only global mutable state, and
// it exists because the engine itself is global. Closing the last Engine and
// opening again (same path or another) reboots the engine and works, but each
// reboot costs a full shutdown and start, so long-lived processes keep one open.
//
// # Serialized statements
//
// An Engine is one chDB connection, and a connection runs one statement at a
// time. Query serializes statements on an Engine with a one-slot semaphore, so
// an Engine is safe for use by many goroutines; a caller waiting for its turn
// gives up when its context ends. A statement that has started runs to the end:
// chDB's query call cannot be interrupted. Engines opened on the same path are
// separate connections; their statements may run at the same time.
//
// # Signal handlers
//
// Booting the engine installs ClickHouse's handlers for SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGABRT, SIGTRAP, SIGSYS and SIGTSTP, replacing the Go runtime's. Go
// turns nil dereferences into panics through its SIGSEGV handler, so without
// it a nil dereference in any goroutine hangs and kills the process. Open and
// Close therefore snapshot every handler the process had before the call and put
// back each one the engine replaced. Handlers the engine adds for signals nobody
// handled before (ClickHouse's stack-trace signal) stay, except SIGTSTP.
//
// # Exiting with an engine open
//
// A process may exit with Engines open. Go's os.Exit skips C exit(3) and
// with it the engine's C++ destructors, except under the race detector; there
// the engine would be torn down by its destructors while still working and
// crash the process, so in -race binaries exit(3) first closes every open
// connection (see closeAtExit).
//
// # Engine behaviour worth knowing (chDB 26.5.3)
//
//   - Query settings given to chdb_connect as --name=value arguments are
//     ignored; Open applies its settings with SET. SET and USE last for the
//     connection.
//   - A query string may hold several statements; all run.
//   - DROP ... SYNC (and database_atomic_wait_for_drop_and_detach_synchronously)
//     never returns: the task that finally removes dropped tables never runs,
//     so dropped data stays on disk while the engine runs.
//   - system.error_codes does not exist; errorCodeToName(code) does.
//   - implicit_select is on: a bare expression is a SELECT.
//   - INSERT ... FROM INFILE '<path>' reads a file of any size in any input
//     format, Native included; it is the way to hand the engine large data
//     without holding it in memory.
package chdb
