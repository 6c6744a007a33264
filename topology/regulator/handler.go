package regulator

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

// NewHandler serves the regulations admin API:
//
//	POST /v1/regulations           ← Body, optional Idempotency-Key → {"id"}
//	GET  /v1/regulations[?status=S&limit=N] → {"regulations": [Summary…]}
//	GET  /v1/regulations/{id}      → Regulation
//	GET  /v1/users/{id}/export[?subjectType=ANONYMOUS_ID&format=csv] → rows
//
// POST answers 200 only once a suppression is acknowledged (see Create);
// 400 names the field at fault, 413 a body over 4 MiB, 409 an
// Idempotency-Key reused for another body, 503 when the broker did not
// acknowledge. It does no authentication: mount it behind the admin token.
func NewHandler(s *Service) http.Handler {
	h := &handler{s: s}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/regulations", h.create)
	mux.HandleFunc("GET /v1/regulations", h.list)
	mux.HandleFunc("GET /v1/regulations/{id}", h.get)
	mux.HandleFunc("GET /v1/users/{id}/export", h.export)
	return mux
}

// Routes returns the admin routes of NewHandler(s), for api.Config.Admin,
// each with the scope a token needs (package topology/admin).
func Routes(s *Service) []api.Route {
	h := NewHandler(s)
	return []api.Route{
		{Pattern: "POST /v1/regulations", Handler: h, Scope: string(admin.ScopeRegulationsFile)},
		{Pattern: "GET /v1/regulations", Handler: h, Scope: string(admin.ScopeRegulationsRead)},
		{Pattern: "GET /v1/regulations/{id}", Handler: h, Scope: string(admin.ScopeRegulationsRead)},
		{Pattern: "GET /v1/users/{id}/export", Handler: h, Scope: string(admin.ScopeExport)},
	}
}

type handler struct{ s *Service }

// errorBody is the body of every refusal.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, field, msg string) {
	writeJSON(w, status, errorBody{Error: msg, Code: code, Field: field})
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			writeErr(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Content-Type "+ct+": send application/json")
			return
		}
	}
	key := r.Header.Get("Idempotency-Key")
	if err := checkIdempotencyKey(key); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_header", "Idempotency-Key", err.Error())
		return
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeErr(w, http.StatusRequestEntityTooLarge, "body_too_large", "",
				"the body is over "+strconv.Itoa(MaxBodyBytes)+" bytes; send at most 5,000 ids per request")
			return
		}
		writeErr(w, http.StatusBadRequest, "unreadable_body", "", "reading the body: "+err.Error())
		return
	}
	b, err := DecodeBody(data)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			writeErr(w, http.StatusBadRequest, "invalid_request", fe.Field, fe.Error())
			return
		}
		writeErr(w, http.StatusBadRequest, "invalid_request", "", err.Error())
		return
	}
	id, replayed, err := h.s.Create(r.Context(), b, key)
	switch {
	case errors.Is(err, ErrIdempotencyConflict):
		writeErr(w, http.StatusConflict, "idempotency_conflict", "Idempotency-Key", err.Error())
		return
	case err != nil:
		h.s.log.Warn("regulator: filing a regulation failed", "err", err)
		writeErr(w, http.StatusServiceUnavailable, "broker_unavailable", "",
			"the regulation was not filed, retry (with the same Idempotency-Key): "+err.Error())
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, struct {
		ID string `json:"id"`
	}{id})
}

// checkIdempotencyKey refuses keys that are too long or not printable ASCII.
func checkIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyBytes {
		return errors.New("at most " + strconv.Itoa(MaxIdempotencyKeyBytes) + " bytes")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return errors.New("only printable ASCII, without spaces")
		}
	}
	return nil
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	status := Status(q.Get("status"))
	if status != "" && !status.Valid() {
		writeErr(w, http.StatusBadRequest, "invalid_parameter", "status", "status "+strconv.Quote(string(status))+": want one of "+joinStatuses())
		return
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeErr(w, http.StatusBadRequest, "invalid_parameter", "limit", "limit "+strconv.Quote(v)+": want 1 to 1000")
			return
		}
		limit = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"regulations": h.s.List(status, limit)})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	reg, ok, err := h.s.Get(r.Context(), id)
	switch {
	case err != nil:
		writeErr(w, http.StatusServiceUnavailable, "broker_unavailable", "", "reading the regulations topic: "+err.Error())
	case !ok:
		writeErr(w, http.StatusNotFound, "not_found", "id", "no regulation "+strconv.Quote(id))
	default:
		writeJSON(w, http.StatusOK, reg)
	}
}

func joinStatuses() string {
	s := make([]string, len(Statuses))
	for i, st := range Statuses {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
