package planstore

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/schemas/plan"
)

// Backend is what the admin API needs of a Store.
type Backend interface {
	List(ctx context.Context) ([]Summary, error)
	Show(ctx context.Context, name string, version int) (*plan.Version, error)
	Publish(ctx context.Context, p *plan.Plan, opts PublishOptions) (*PublishResult, error)
}

// NewHandler serves the tracking-plans admin API:
//
//	GET  /v1/tracking-plans                          → {"plans": [Summary…]}
//	GET  /v1/tracking-plans/{name}                   → latest plan.Version
//	GET  /v1/tracking-plans/{name}/versions/{v}      → that plan.Version
//	POST /v1/tracking-plans[?dryRun=true]            ← PublishRequest
//
// POST answers 201 with the PublishResult when a version was written, 200
// when the plan is unchanged or for a dry run, 400 with {"error",
// "problems": [{file, path, message}]} for a plan that does not check, 409
// with the verdict when it is incompatible. It does no authentication:
// mount it behind the admin token.
func NewHandler(b Backend, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{b: b, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/tracking-plans", h.list)
	mux.HandleFunc("GET /v1/tracking-plans/{name}", h.show)
	mux.HandleFunc("GET /v1/tracking-plans/{name}/versions/{version}", h.show)
	mux.HandleFunc("POST /v1/tracking-plans", h.publish)
	return mux
}

type handler struct {
	b   Backend
	log *slog.Logger
}

// apiError is the body of every error answer.
type apiError struct {
	Error    string        `json:"error"`
	Problems []*plan.Error `json:"problems,omitempty"`
	Verdict  *plan.Verdict `json:"verdict,omitempty"`
	Changes  plan.Changes  `json:"changes,omitempty"`
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	plans, err := h.b.List(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"plans": plans})
}

func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	version := 0
	if s := r.PathValue("version"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "version " + strconv.Quote(s) + ": want an integer of at least 1"})
			return
		}
		version = v
	}
	doc, err := h.b.Show(r.Context(), r.PathValue("name"), version)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

func (h *handler) publish(w http.ResponseWriter, r *http.Request) {
	dryRun := false
	if s := r.URL.Query().Get("dryRun"); s != "" {
		var err error
		if dryRun, err = strconv.ParseBool(s); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: "dryRun " + strconv.Quote(s) + ": want true or false"})
			return
		}
	}
	req, files, err := DecodePublishRequest(http.MaxBytesReader(w, r.Body, MaxBodySize))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: "body larger than " + strconv.Itoa(MaxBodySize) + " bytes"})
			return
		}
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	p, err := plan.Check(files)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "the plan does not check", Problems: plan.AsErrors(err)})
		return
	}
	compat, _ := plan.ParseCompatibility(req.Compatibility)
	if req.Compatibility == "" {
		compat = ""
	}
	author := req.Author
	if author == "" {
		author = "admin-api"
	}
	res, err := h.b.Publish(r.Context(), p, PublishOptions{Author: author, Compatibility: compat, DryRun: dryRun})
	var inc *IncompatibleError
	switch {
	case errors.As(err, &inc):
		writeJSON(w, http.StatusConflict, apiError{Error: inc.Error(), Verdict: &inc.Verdict, Changes: res.Changes})
	case err != nil:
		h.fail(w, r, err)
	case res.Published:
		writeJSON(w, http.StatusCreated, res)
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

// fail answers a Backend error: 404 for ErrNotFound, 409 for ErrConflict,
// 503 for the rest (the broker is unreachable or the read failed).
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: err.Error()})
	case errors.Is(err, ErrConflict):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error()})
	case r.Context().Err() != nil:
		// The client went away: nobody reads the answer.
	default:
		h.log.Error("tracking plans admin API", "method", r.Method, "path", r.URL.Path, "error", err)
		writeJSON(w, http.StatusServiceUnavailable, apiError{Error: err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client may be gone; nothing to do about it
}

// A Store is the Backend of the admin API.
var _ Backend = (*Store)(nil)
