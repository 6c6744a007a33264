package chdb

import "time"

// Result is the output of one statement, copied out of the engine's memory.
type Result struct {
	// Data is the output in the requested format; empty for statements that
	// return nothing.
	Data []byte
	// Elapsed is the engine's own measure of the statement's run time.
	Elapsed time.Duration
	// RowsRead and BytesRead count what the statement read.
	RowsRead, BytesRead uint64
	// RowsWritten and BytesWritten count what the statement wrote (INSERT).
	RowsWritten, BytesWritten uint64
}
