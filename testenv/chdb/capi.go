package chdb

// library holds the engine's C entry points. The connection argument of the
// query functions is the chdb_connection value itself (one pointer), not the
// chdb_connection* that chdb_connect returns.
type library struct {
	connect      func(argc int32, argv **byte) *uintptr
	closeConn    func(conn *uintptr)
	queryN       func(conn uintptr, query *byte, queryLen uintptr, format *byte, formatLen uintptr) uintptr
	queryParamsN func(conn uintptr, query *byte, queryLen uintptr, format *byte, formatLen uintptr,
		names **byte, nameLens *uintptr, values **byte, valueLens *uintptr, count uintptr) uintptr
	buffer       func(res uintptr) *byte
	length       func(res uintptr) uintptr
	errorText    func(res uintptr) string
	elapsed      func(res uintptr) float64
	rowsRead     func(res uintptr) uint64
	bytesRead    func(res uintptr) uint64
	rowsWritten  func(res uintptr) uint64
	bytesWritten func(res uintptr) uint64
	destroy      func(res uintptr)

	// closeConnAddr is chdb_close_conn's address, for atExit.
	closeConnAddr uintptr
	// calloc is libc's calloc; connection cells live in C memory because
	// atExit keeps a pointer to them until the process exits.
	calloc func(n, size uintptr) *uintptr
	// atExit is libc's __cxa_atexit: fn(arg) runs when the process calls
	// exit(3), before the destructors of libraries loaded earlier.
	atExit func(fn, arg, dsoHandle uintptr) int32
}
