package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// basicWriteKey returns the write key of an "Authorization: Basic" header,
// Segment's form: the key as user, the password empty (ignored if not).
// present is false when the request has no Authorization header at all.
func basicWriteKey(r *http.Request) (key string, present bool, ok bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, false
	}
	scheme, cred, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", true, false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", true, false
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user, true, user != ""
}

// source resolves a write key to its source.
func (s *Server) source(key string) (*source, *apiError) {
	if key == "" {
		return nil, newError(http.StatusUnauthorized, codeUnauthorized,
			"missing write key: send it as the HTTP Basic user with an empty password, or as \"writeKey\" in the body")
	}
	src, ok := s.sources[key]
	if !ok {
		return nil, newError(http.StatusUnauthorized, codeUnauthorized, "unknown write key")
	}
	return src, nil
}

// AdminGuard authenticates and authorizes admin requests and records them;
// Wrap is called once per admin route when the server is built.
type AdminGuard interface {
	Wrap(pattern, scope string, h http.Handler) http.Handler
}

// requireAdmin guards an admin route: with Config.AdminGuard, by it; else
// with "Authorization: Bearer <AdminToken>", compared in constant time (over
// digests, so the length does not leak either). The request's context
// carries its Client (ClientOf) for the guard's records.
func (s *Server) requireAdmin(rt Route) http.Handler {
	if s.cfg.AdminGuard != nil {
		h := s.cfg.AdminGuard.Wrap(rt.Pattern, rt.Scope, rt.Handler)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, s.withClient(r)) })
	}
	h := rt.Handler
	want := sha256.Sum256([]byte(s.cfg.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got := sha256.Sum256([]byte(strings.TrimSpace(token)))
		if !strings.EqualFold(scheme, "Bearer") || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice admin"`)
			writeError(w, newError(http.StatusUnauthorized, codeUnauthorized, "admin API: missing or wrong bearer token"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
