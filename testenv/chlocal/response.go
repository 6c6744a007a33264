package chlocal

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// setCommonHeaders sets the headers ClickHouse puts on every query response.
func (s *Server) setCommonHeaders(h http.Header, req *request, queryID string) {
	setExact(h, "X-ClickHouse-Server-Display-Name", s.displayName)
	setExact(h, "X-ClickHouse-Query-Id", queryID)
	tz := s.timezone
	if v := req.settings["session_timezone"]; v != "" {
		tz = v
	}
	setExact(h, "X-ClickHouse-Timezone", tz)
}

// setExact sets a header with the letter case ClickHouse uses
// (X-ClickHouse-...), which Header.Set would canonicalize to X-Clickhouse-.
func setExact(h http.Header, key, value string) { h[key] = []string{value} }

// writeResult sends a statement's output, compressed as the request asks.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, req *request, out *output) {
	h := w.Header()
	s.setCommonHeaders(h, req, req.queryID)
	setExact(h, "X-ClickHouse-Format", out.format)
	h.Set("Content-Type", contentType(out.format))
	setExact(h, "X-ClickHouse-Summary", summary(out))
	if len(out.data) == 0 || r.Method == http.MethodHead {
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		return
	}
	if req.compress {
		w.WriteHeader(http.StatusOK)
		if err := blockFrames(w, out.data, req.settings["network_compression_method"]); err != nil {
			s.log.Debug("writing response", "query_id", req.queryID, "error", err)
		}
		return
	}
	enc := contentEncoding(r, req)
	if enc == "" {
		h.Set("Content-Length", strconv.Itoa(len(out.data)))
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(out.data); err != nil {
			s.log.Debug("writing response", "query_id", req.queryID, "error", err)
		}
		return
	}
	h.Set("Content-Encoding", enc)
	h.Add("Vary", "Accept-Encoding")
	level, _ := strconv.Atoi(req.settings["http_zlib_compression_level"])
	zw, err := encoder(w, enc, level)
	if err == nil {
		w.WriteHeader(http.StatusOK)
		_, err = zw.Write(out.data)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		s.log.Debug("writing response", "query_id", req.queryID, "error", err)
	}
}

// writeException answers with ClickHouse's status for the exception, its code
// in X-ClickHouse-Exception-Code and its message as the body.
func (s *Server) writeException(w http.ResponseWriter, req *request, queryID string, ex *chdb.Exception) {
	h := w.Header()
	s.setCommonHeaders(h, req, queryID)
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	setExact(h, "X-ClickHouse-Exception-Code", strconv.Itoa(ex.Code))
	msg := ex.Message + "\n"
	h.Set("Content-Length", strconv.Itoa(len(msg)))
	w.WriteHeader(s.statuses.status(ex.Code))
	_, _ = w.Write([]byte(msg))
}

// summary renders X-ClickHouse-Summary: ClickHouse's progress counters, each
// a decimal string.
func summary(out *output) string {
	res := out.result
	counters := map[string]string{
		"read_rows":          strconv.FormatUint(res.RowsRead, 10),
		"read_bytes":         strconv.FormatUint(res.BytesRead, 10),
		"written_rows":       strconv.FormatUint(res.RowsWritten, 10),
		"written_bytes":      strconv.FormatUint(res.BytesWritten, 10),
		"total_rows_to_read": "0",
		"result_rows":        strconv.Itoa(out.rows),
		"result_bytes":       strconv.Itoa(len(out.data)),
		"elapsed_ns":         strconv.FormatInt(res.Elapsed.Nanoseconds(), 10),
	}
	b, _ := json.Marshal(counters) // keys sorted; a map of strings cannot fail
	return string(b)
}

// contentType returns the Content-Type ClickHouse sends for an output format.
func contentType(format string) string {
	f := strings.ToLower(format)
	switch {
	case f == "jsoneachrow" || f == "jsonstringseachrow" || f == "jsoncompacteachrow" || strings.HasPrefix(f, "jsoncompacteachrowwith") || strings.HasPrefix(f, "jsoncompactstringseachrow"):
		return "application/x-ndjson; charset=UTF-8"
	case strings.HasPrefix(f, "json"):
		return "application/json; charset=UTF-8"
	case strings.HasPrefix(f, "tabseparated"), strings.HasPrefix(f, "tsv"):
		return "text/tab-separated-values; charset=UTF-8"
	case strings.HasPrefix(f, "csv"):
		return "text/csv; charset=UTF-8; header=absent"
	case f == "native" || strings.HasPrefix(f, "rowbinary") || f == "parquet" || f == "arrow" || f == "arrowstream" || f == "orc" || f == "avro" || f == "protobuf" || f == "msgpack" || f == "rawblob":
		return "application/octet-stream"
	case f == "xml":
		return "application/xml; charset=UTF-8"
	}
	return "text/plain; charset=UTF-8"
}

// newQueryID returns a random UUID, as ClickHouse assigns query ids.
func newQueryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
