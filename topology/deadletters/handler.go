package deadletters

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/api"
)

// Routes are the admin API's dead-letter routes, under admin.ScopeDeadLetters
// (the operator role):
//
//	GET  /v1/deadletters          ?origin&destination&reason&since&until&show&payloads&limit → Listing
//	POST /v1/deadletters/replay   ReplayRequest as JSON → Report
func Routes(s *Service) []api.Route {
	h := &handler{s: s}
	scope := string(admin.ScopeDeadLetters)
	return []api.Route{
		{Pattern: "GET /v1/deadletters", Handler: http.HandlerFunc(h.list), Scope: scope},
		{Pattern: "POST /v1/deadletters/replay", Handler: http.HandlerFunc(h.replay), Scope: scope},
	}
}

type handler struct{ s *Service }

// errorBody is the body of every refusal, as the other admin routes answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeErr answers err: 400 naming the field of a bad parameter, 409 for a
// fenced replay, 503 otherwise (the broker could not be read or written).
func writeErr(w http.ResponseWriter, err error) {
	var fe *fieldError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fe.msg, Code: "invalid_parameter", Field: fe.field})
	case errors.Is(err, ErrConcurrentReplay):
		writeJSON(w, http.StatusConflict, errorBody{Error: err.Error(), Code: "concurrent_replay"})
	default:
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: err.Error(), Code: "unavailable"})
	}
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f, o, err := parseList(r.URL.Query())
	if err != nil {
		writeErr(w, err)
		return
	}
	out, err := h.s.List(r.Context(), f, o)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// parseList reads GET /v1/deadletters' query.
func parseList(q map[string][]string) (Filter, ListOptions, error) {
	f, err := parseFilter(q)
	if err != nil {
		return f, ListOptions{}, err
	}
	var o ListOptions
	if o.Show, err = parseBool(q, "show"); err != nil {
		return f, o, err
	}
	if o.Payloads, err = parseBool(q, "payloads"); err != nil {
		return f, o, err
	}
	o.Show = o.Show || o.Payloads
	if s := first(q, "limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return f, o, &fieldError{"limit", "limit " + strconv.Quote(s) + ": want 1 to " + strconv.Itoa(MaxLimit)}
		}
		o.Limit = n
	}
	return f, o, nil
}

func first(q map[string][]string, k string) string {
	if v := q[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func parseBool(q map[string][]string, k string) (bool, error) {
	s := first(q, k)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, &fieldError{k, k + " " + strconv.Quote(s) + ": want true or false"}
	}
	return b, nil
}

// maxReplayBody bounds a replay request's body.
const maxReplayBody = 64 << 10

func (h *handler) replay(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "Content-Type " + ct + ": send application/json", Code: "unsupported_media_type"})
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "reading the body: " + err.Error(), Code: "unreadable_body"})
		return
	}
	req, err := parseReplay(body)
	if err != nil {
		writeErr(w, err)
		return
	}
	rec := admin.NewOnce(admin.Bootstrap, admin.ActionDeadLetterReplay)
	if a := admin.ActorFrom(r.Context()); a != nil {
		rec.Actor = *a
	}
	rec.Remote = r.RemoteAddr
	if id := w.Header().Get(admin.HeaderAuditID); id != "" {
		rec.Detail = "request " + id
	}
	rep, err := h.s.Replay(r.Context(), req, rec)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// parseReplay reads POST /v1/deadletters/replay's body: a ReplayRequest,
// unknown fields refused.
func parseReplay(body []byte) (ReplayRequest, error) {
	var req ReplayRequest
	if len(body) > maxReplayBody {
		return req, &fieldError{"", "the body is larger than 64 KiB"}
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, &fieldError{"", "the body is not a replay request: " + err.Error() +
			` (want {"destination": "…", "reason": "…", "since": "<RFC 3339>", "until": "…", "dryRun": false, "again": false})`}
	}
	if dec.More() {
		return req, &fieldError{"", "the body holds more than one JSON value"}
	}
	return req, req.Filter.check()
}
