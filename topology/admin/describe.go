package admin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits of what a record takes from a filing's body.
const (
	// maxFilingBody is the regulations API's body limit (4 MiB); a larger
	// body is refused by the handler, and its subjects are not recorded.
	maxFilingBody = 4 << 20
	// maxSubjects and maxSubjectBytes are the API's limits on a filing's
	// subject ids; ids beyond them are counted in Detail, not recorded, so
	// a record stays under the topic's record size.
	maxSubjects     = 5000
	maxSubjectBytes = 256
	// maxCapture bounds the answer kept to read a regulation or plan id.
	maxCapture = 64 << 10
)

// describe fills rec with what the request is about: the subjects of a
// filing or an export, the regulation read, the plan read. For a filing it
// reads the body (when readBody) and returns a reader that gives the handler
// the very same bytes. It records ids, never payloads.
func describe(r *http.Request, scope Scope, rec *Record, readBody bool) (io.ReadCloser, error) {
	switch scope {
	case ScopeRegulationsRead:
		rec.RegulationID = r.PathValue("id")
	case ScopeExport:
		rec.SubjectType = r.URL.Query().Get("subjectType")
		if rec.SubjectType == "" {
			rec.SubjectType = "USER_ID"
		}
		if id := r.PathValue("id"); id != "" {
			rec.SubjectIDs = []string{id}
		}
	case ScopePlansRead:
		rec.Plan = r.PathValue("name")
		rec.PlanVersion, _ = strconv.Atoi(r.PathValue("version"))
	case ScopeRegulationsFile:
		if !readBody || r.Body == nil {
			return nil, nil
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, maxFilingBody+1))
		if err != nil {
			return nil, err
		}
		body := struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
		if len(data) <= maxFilingBody {
			describeFiling(data, rec)
		}
		return body, nil
	}
	return nil, nil
}

// describeFiling records the type and subjects of a POST /v1/regulations
// body, as far as it reads; the handler judges it.
func describeFiling(data []byte, rec *Record) {
	var b struct {
		RegulationType string   `json:"regulationType"`
		SubjectType    string   `json:"subjectType"`
		SubjectIDs     []string `json:"subjectIds"`
	}
	if json.Unmarshal(data, &b) != nil {
		return
	}
	rec.RegulationType, rec.SubjectType = b.RegulationType, b.SubjectType
	dropped := 0
	for _, id := range b.SubjectIDs {
		if len(rec.SubjectIDs) == maxSubjects || !plausibleID(id) {
			dropped++
			continue
		}
		rec.SubjectIDs = append(rec.SubjectIDs, id)
	}
	if dropped > 0 {
		rec.Detail = strconv.Itoa(dropped) + " subject ids not recorded (over the API's limits)"
	}
}

// plausibleID is an id the regulations API could accept.
func plausibleID(id string) bool {
	if id == "" || len(id) > maxSubjectBytes || !utf8.ValidString(id) {
		return false
	}
	return !strings.ContainsFunc(id, func(c rune) bool { return c < 0x20 || c == 0x7f })
}

// recorder is the handler's ResponseWriter: it keeps the status, counts the
// rows of an export as they stream past, and keeps the start of a small
// JSON answer (a filing's id, a published plan's version).
type recorder struct {
	http.ResponseWriter
	scope   Scope
	status  int
	rows    rowCounter
	capture bytes.Buffer
}

func newRecorder(w http.ResponseWriter, scope Scope) *recorder {
	return &recorder{ResponseWriter: w, scope: scope}
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		if w.scope == ScopeExport {
			w.rows.csv = strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	switch w.scope {
	case ScopeExport:
		if w.status == http.StatusOK {
			w.rows.add(b)
		}
	case ScopeRegulationsFile, ScopePlansPublish:
		if room := maxCapture - w.capture.Len(); room > 0 {
			w.capture.Write(b[:min(room, len(b))])
		}
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// code is the status answered; 200 when the handler wrote nothing.
func (w *recorder) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// exportErrorTrailer is the trailer an export that failed half-way sets
// (regulator.ExportErrorTrailer).
const exportErrorTrailer = "X-Export-Error"

// outcome adds what the answer tells to the end record e.
func (w *recorder) outcome(e *Record) {
	switch w.scope {
	case ScopeExport:
		if w.status != http.StatusOK {
			return
		}
		rows := w.rows.records()
		if msg := w.Header().Get(exportErrorTrailer); msg != "" {
			e.Detail = "the export failed half-way: " + msg
			if !w.rows.csv && rows > 0 {
				rows-- // the closing {"source":"error"} line
			}
		}
		e.Rows = &rows
	case ScopeRegulationsFile:
		var a struct {
			ID string `json:"id"`
		}
		if w.code() == http.StatusOK && json.Unmarshal(w.capture.Bytes(), &a) == nil {
			e.RegulationID = a.ID
		}
	case ScopePlansPublish:
		var a struct {
			Plan    string `json:"plan"`
			Version int    `json:"version"`
		}
		if json.Unmarshal(w.capture.Bytes(), &a) == nil {
			e.Plan, e.PlanVersion = a.Plan, a.Version
		}
	}
}

// rowCounter counts the records of a JSON-lines or CSV stream: JSON lines
// end at every newline (JSON escapes those inside strings); CSV records
// at a newline outside quotes, the first record being the header.
type rowCounter struct {
	csv      bool
	inQuotes bool
	lines    int64
}

func (c *rowCounter) add(b []byte) {
	if !c.csv {
		c.lines += int64(bytes.Count(b, []byte{'\n'}))
		return
	}
	for _, ch := range b {
		switch ch {
		case '"':
			// "" inside a quoted field toggles twice: no change.
			c.inQuotes = !c.inQuotes
		case '\n':
			if !c.inQuotes {
				c.lines++
			}
		}
	}
}

// records is the number of rows: JSON lines, or CSV records after the header.
func (c *rowCounter) records() int64 {
	if c.csv && c.lines > 0 {
		return c.lines - 1
	}
	return c.lines
}
