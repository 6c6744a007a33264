package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/sluicehq/sluice/schemas"
)

// trackingRoutes are Segment's tracking paths, long and short: the short
// ones are what analytics.js posts to (https://api.segment.io/v1/t ...).
var trackingRoutes = []struct {
	path  string
	typ   schemas.Type // empty: batch
	label string       // the metrics label
}{
	{"/v1/track", schemas.Track, "track"}, {"/v1/t", schemas.Track, "track"},
	{"/v1/identify", schemas.Identify, "identify"}, {"/v1/i", schemas.Identify, "identify"},
	{"/v1/page", schemas.Page, "page"}, {"/v1/p", schemas.Page, "page"},
	{"/v1/screen", schemas.Screen, "screen"}, {"/v1/s", schemas.Screen, "screen"},
	{"/v1/group", schemas.Group, "group"}, {"/v1/g", schemas.Group, "group"},
	{"/v1/alias", schemas.Alias, "alias"}, {"/v1/a", schemas.Alias, "alias"},
	{"/v1/batch", "", "batch"}, {"/v1/b", "", "batch"},
	{"/v1/import", "", "import"},
}

// routes builds the mux: tracking routes (with CORS), health, metrics, and
// the admin routes behind the bearer token, each counted and guarded.
func (s *Server) routes() (h http.Handler, err error) {
	mux := http.NewServeMux()
	// ServeMux panics on clashing patterns; an admin pattern that clashes
	// is a configuration error, not a crash.
	defer func() {
		if p := recover(); p != nil {
			h, err = nil, fmt.Errorf("api: Admin: %v", p)
		}
	}()
	for _, rt := range trackingRoutes {
		mux.Handle(rt.path, s.counted(rt.label, s.cors("POST", s.tracking(rt.path, rt.typ, rt.label))))
	}
	// What analytics.js loads when Segment's snippet names sluice (sdk.go).
	mux.Handle("/v1/projects/{writeKey}/settings", s.counted("settings", s.cors("GET", http.HandlerFunc(s.settings))))
	mux.Handle("/v1/m", s.counted("sdk_metrics", s.cors("POST", http.HandlerFunc(s.sdkMetrics))))
	mux.Handle("/analytics.js/v1/{writeKey}/analytics.min.js", s.counted("analytics_js", s.cors("GET", http.HandlerFunc(s.analyticsMinJS))))
	mux.Handle("/analytics-next/bundles/{file}", s.counted("analytics_js", s.cors("GET", http.HandlerFunc(s.analyticsChunk))))
	mux.Handle("GET /healthz", s.counted("healthz", http.HandlerFunc(s.healthz)))
	mux.Handle("GET /readyz", s.counted("readyz", http.HandlerFunc(s.readyz)))
	mux.Handle("GET /metrics", s.counted("metrics", s.metrics.handler(s.cfg.Registry)))
	for _, rt := range s.cfg.Admin {
		mux.Handle(rt.Pattern, s.counted("admin", s.requireAdmin(rt)))
	}
	mux.Handle("/", s.counted("other", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newError(http.StatusNotFound, codeNotFound, "no route "+r.Method+" "+r.URL.Path))
	})))
	return mux, nil
}

// counted counts a route's requests by status code, with the panic guard
// inside so that a caught panic counts as the 500 it is answered with.
func (s *Server) counted(label string, h http.Handler) http.Handler {
	h = s.guard(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			code := sw.status
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(label, itoa(code)).Inc()
		}()
		h.ServeHTTP(sw, r)
	})
}

// guard is the last resort: a handler that panics is answered 500 (if it
// has not answered yet), logged with its stack and counted; the process
// goes on. Bad input is refused long before it could get here.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p)
			}
			s.metrics.panics.Inc()
			s.log.Error("api: handler panicked", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if sw.status == 0 {
				writeError(sw, newError(http.StatusInternalServerError, codeInternal, "internal error"))
			}
		}()
		h.ServeHTTP(sw, r)
	})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}` + "\n"))
}

// Ready reports whether the server takes events: not shutting down, and the
// broker answers within ctx.
func (s *Server) Ready(ctx context.Context) error {
	if s.draining.Load() {
		return newError(http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	}
	if err := s.producer.Ping(ctx); err != nil {
		return newError(http.StatusServiceUnavailable, codeBrokerUnavailable, "broker unreachable: "+err.Error())
	}
	return nil
}

// readyz is 200 only while Ready says so, so load balancers stop sending
// before Serve returns.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		var e *apiError
		if errors.As(err, &e) {
			writeError(w, e)
			return
		}
		writeError(w, newError(http.StatusServiceUnavailable, codeBrokerUnavailable, err.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ready":true}` + "\n"))
}
