package chlocal

import (
	"context"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// Limits on the SQL text of a request. ClickHouse parses at most
// max_query_size (256 KiB by default) of it; these only bound memory.
const (
	// prefixSize is how much of the body is read before deciding whether the
	// request is an INSERT with inline data.
	prefixSize = 256 << 10
	// maxQueryText is the largest query text (URL parameter plus body) of a
	// request that is not an INSERT with inline data.
	maxQueryText = 16 << 20
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ping", s.serveOK)
	mux.HandleFunc("/replicas_status", s.serveOK)
	mux.HandleFunc("/", s.serveQuery)
	return s.guardCrossSite(mux)
}

// serveOK answers health checks as ClickHouse does.
func (s *Server) serveOK(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	_, _ = io.WriteString(w, "Ok.\n")
}

// serveQuery runs the request's statement: its text is the query URL
// parameter, a line break, then the body; an INSERT's inline data reaches the
// engine as a file.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodHead:
	case http.MethodOptions: // without CORS headers: see guardCrossSite
		w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		w.Header().Set("Allow", "GET, POST, HEAD, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/" && r.Method != http.MethodPost && !r.URL.Query().Has("query") {
		s.serveOK(w, r)
		return
	}
	req, ex := parseRequest(r)
	if ex != nil {
		s.writeException(w, &request{}, newQueryID(), ex)
		return
	}
	if req.queryID == "" {
		req.queryID = newQueryID()
	}
	start := time.Now()
	out, ex := s.execute(r, req)
	if ex != nil {
		s.log.Debug("query failed", "query_id", req.queryID, "code", ex.Code, "error", ex.Message)
		s.writeException(w, req, req.queryID, ex)
		return
	}
	s.log.Debug("query", "query_id", req.queryID, "kind", out.kind, "elapsed", time.Since(start))
	s.writeResult(w, r, req, out)
}

// output is a statement's result ready to respond with.
type output struct {
	kind   string // the statement's first keyword
	format string // the output format
	data   []byte
	rows   int // result rows, when known (Native)
	result *chdb.Result
}

// execute reads the request's SQL, spools inline insert data, and runs the
// statement in the server's turn.
func (s *Server) execute(r *http.Request, req *request) (*output, *chdb.Exception) {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "multipart/form-data" {
		return nil, exceptionf(codeNotImplemented, "NOT_IMPLEMENTED", "External tables (multipart/form-data requests) are not supported by the local engine")
	}
	body, ex := requestBody(r, req)
	if ex != nil {
		return nil, ex
	}
	defer body.Close()

	text := req.query
	if text != "" {
		text += "\n"
	}
	text, complete, ex := readText(body, text, prefixSize)
	if ex != nil {
		return nil, ex
	}
	split, outcome := splitInsert(text, complete)
	// Once the body reported its end it is never read again: some decoders
	// (ch-go's LZ4/ZSTD reader) replay their last block after EOF.
	for outcome == needMoreText && !complete && len(text) < maxQueryText {
		if text, complete, ex = readText(body, text, min(2*len(text), maxQueryText)); ex != nil {
			return nil, ex
		}
		split, outcome = splitInsert(text, complete)
	}

	var sql, kind, format string
	var written clientSQL
	switch outcome {
	case needMoreText:
		return nil, queryTooLarge()
	case inlineInsert:
		if ex := checkReadonly(req.readonly, "INSERT"); ex != nil {
			return nil, ex // before reading a body that cannot be used
		}
		path, ex := s.spool(text[split.dataStart:], body, complete)
		if ex != nil {
			return nil, ex
		}
		defer os.Remove(path)
		sql, kind = split.query(path), "INSERT"
		written.statement = split.statement()
		if complete && strings.EqualFold(split.format, "Values") {
			written.values = text[split.dataStart:]
		}
	default:
		if !complete {
			if text, complete, ex = readText(body, text, maxQueryText); ex != nil {
				return nil, ex
			}
			if !complete {
				return nil, queryTooLarge()
			}
		}
		st := describe(text)
		switch {
		case st.kind == "":
			return nil, exceptionf(codeSyntaxError, "SYNTAX_ERROR", "Empty query")
		case st.multi:
			return nil, exceptionf(codeSyntaxError, "SYNTAX_ERROR", "Syntax error (Multi-statements are not allowed): failed at position %d (end of query)", st.multiAt+1)
		}
		sql, kind, format = st.withoutSync(text), st.kind, st.format
		written.statement = sql
	}
	if ex := checkReadonly(req.readonly, kind); ex != nil {
		return nil, ex
	}
	defaultFormat := req.defaultFormat
	if defaultFormat == "" {
		defaultFormat = chdb.DefaultFormat
	}
	if format == "" {
		format = defaultFormat
	}

	res, err := s.run(r.Context(), req, written, sql, kind, defaultFormat)
	if err != nil {
		return nil, asException(err)
	}
	out := &output{kind: kind, format: format, data: res.Data, result: res}
	if req.protocolVersion > 0 && strings.EqualFold(format, "Native") && len(res.Data) > 0 {
		if out.data, out.rows, err = reencodeNative(res.Data, req.protocolVersion, &s.native); err != nil {
			return nil, exceptionf(codeUnknownException, "UNKNOWN_EXCEPTION", "Cannot re-encode Native output for client_protocol_version %d: %v", req.protocolVersion, err)
		}
	}
	return out, nil
}

// run applies the request's session state, checks what the client wrote and
// runs sql, holding a lane.
func (s *Server) run(ctx context.Context, req *request, written clientSQL, sql, kind, format string) (*chdb.Result, error) {
	l, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer s.release(l)
	// The check parses with the request's settings (max_query_size...).
	if err := l.session.prepare(ctx, req.database, req.settings); err != nil {
		return nil, err
	}
	valuesExpressions, ex := s.access.check(ctx, l.engine, written)
	if ex != nil {
		return nil, ex
	}
	if valuesExpressions {
		settings := maps.Clone(req.settings)
		for _, name := range valuesExpressionSettings {
			settings[name] = "1"
		}
		if err := l.session.prepare(ctx, req.database, settings); err != nil {
			return nil, err
		}
	}
	defer l.session.changedBy(kind)
	return l.engine.Query(ctx, sql, format, req.params)
}

// checkReadonly refuses statements the readonly level does not allow.
func checkReadonly(readonly int, kind string) *chdb.Exception {
	if readonly == 0 || isReadOnly(kind) || readonly == 2 && kind == "SET" {
		return nil
	}
	return exceptionf(codeReadonly, "READONLY", "Cannot execute query in readonly mode. For queries over HTTP, method GET implies readonly. You should use method POST for modifying queries")
}

func queryTooLarge() *chdb.Exception {
	return exceptionf(codeSyntaxError, "SYNTAX_ERROR", "Max query size exceeded: the query text of a request is limited to %d bytes", maxQueryText)
}

// asException turns an error from running a statement into an exception.
func asException(err error) *chdb.Exception {
	var ex *chdb.Exception
	switch {
	case errors.As(err, &ex):
		return ex
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return exceptionf(codeQueryWasCancelled, "QUERY_WAS_CANCELLED", "Query was cancelled: %v", err)
	default:
		return exceptionf(codeUnknownException, "UNKNOWN_EXCEPTION", "%v", err)
	}
}

// readText appends body to text until text is limit bytes long or the body
// ends (complete).
func readText(body io.Reader, text string, limit int) (string, bool, *chdb.Exception) {
	want := int64(limit - len(text))
	if want <= 0 {
		return text, false, nil
	}
	var buf strings.Builder
	buf.WriteString(text)
	n, err := io.Copy(&buf, io.LimitReader(body, want))
	if err != nil {
		return "", false, bodyException(err)
	}
	return buf.String(), n < want, nil
}

// spool writes an insert's inline data (the part already read, then the rest
// of the body unless it was read to its end) to a new file for FROM INFILE
// and returns its path.
func (s *Server) spool(head string, body io.Reader, bodyDone bool) (string, *chdb.Exception) {
	f, err := os.CreateTemp(s.insertDir, "insert-*.bin")
	if err != nil {
		return "", exceptionf(codeUnknownException, "UNKNOWN_EXCEPTION", "Cannot spool insert data: %v", err)
	}
	_, err = io.WriteString(f, head)
	if err == nil && !bodyDone {
		_, err = io.Copy(f, body)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", bodyException(err)
	}
	return f.Name(), nil
}
