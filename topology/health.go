package topology

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// health serves a process's /metrics, /healthz and /readyz.
type health struct {
	registry *prometheus.Registry
	roles    []role
	names    []Role
}

// readyTimeout bounds one /readyz answer.
const readyTimeout = 2 * time.Second

func (h health) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(h.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	// readyz is 200 only when every role of the process is ready; the
	// body names each role's state.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		status, roles := http.StatusOK, map[string]string{}
		for i, rl := range h.roles {
			if err := rl.ready(ctx); err != nil {
				status, roles[string(h.names[i])] = http.StatusServiceUnavailable, err.Error()
			} else {
				roles[string(h.names[i])] = "ready"
			}
		}
		writeJSON(w, status, map[string]any{"ready": status == http.StatusOK, "roles": roles})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// serveHealth serves h on ln until ctx is done.
func serveHealth(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	return err
}

// errNotReady is a role's answer before it does its work.
var errNotReady = errors.New("starting: tables catching up or joining the group")
