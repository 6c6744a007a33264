package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/sluicehq/sluice/topology/api"
)

// Headers of every admin answer past authentication.
const (
	// HeaderActor names the token's holder the request was served for.
	HeaderActor = "X-Sluice-Actor"
	// HeaderAuditID is the Record.ID that records the request.
	HeaderAuditID = "X-Sluice-Audit-Id"
)

// GuardConfig configures a Guard. Bootstrap or Tokens is required.
type GuardConfig struct {
	// Bootstrap is the bootstrap token (--admin-token): every role, holder
	// "bootstrap". Empty: none.
	Bootstrap string
	// Tokens is the table of personal tokens; nil: the bootstrap token only.
	Tokens *Tokens
	// Audit records every admin action. Required.
	Audit *Auditor
	// CatchUpTimeout bounds the wait for the tokens table before a request
	// with a personal token is answered 503; default 5s.
	CatchUpTimeout time.Duration
	// Logger receives refusals and audit failures; default discards.
	Logger *slog.Logger
}

// Guard authenticates, authorizes and records admin requests: it is the
// api role's api.Config.AdminGuard.
//
// A request passes when its bearer token is the bootstrap token, or a
// personal token the tokens table knows, caught up to the topic's end at
// the time of the request: a revocation acknowledged by the broker holds for
// every request after it. A personal token whose role lacks the route's
// scope gets 403 naming the roles that have it; an unknown or revoked one
// 401. Before the handler runs, a begin record is written to the audit topic;
// if it cannot be written the request is answered 503 and nothing is done
// (fail closed). After the handler, an end record holds the outcome.
type Guard struct {
	cfg       GuardConfig
	bootstrap [32]byte
	log       *slog.Logger
}

// NewGuard returns a Guard.
func NewGuard(cfg GuardConfig) *Guard {
	if cfg.CatchUpTimeout <= 0 {
		cfg.CatchUpTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Guard{cfg: cfg, bootstrap: sha256.Sum256([]byte(cfg.Bootstrap)), log: cfg.Logger}
}

// Wrap guards h, mounted at pattern, with scope; it is what the api server
// calls for each admin route.
func (g *Guard) Wrap(pattern, scope string, h http.Handler) http.Handler {
	s := Scope(scope)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.serve(w, r, pattern, s, h) })
}

// refusal is the JSON of a refused admin request.
type refusal struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Scope Scope  `json:"scope,omitempty"`
	Roles []Role `json:"roles,omitempty"`
}

func writeRefusal(w http.ResponseWriter, status int, body refusal) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice admin"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func (g *Guard) serve(w http.ResponseWriter, r *http.Request, pattern string, scope Scope, h http.Handler) {
	actor, status, msg := g.authenticate(r)
	switch {
	case status == http.StatusServiceUnavailable:
		writeRefusal(w, status, refusal{Error: msg, Code: "unavailable"})
		return
	case actor == nil:
		// No actor: nobody to hold to account, and recording every
		// stranger's guess would let anyone fill the trail.
		remote, via := remoteOf(r)
		g.log.Info("admin: request refused", "remote", remote, "via", via, "route", pattern, "reason", msg)
		writeRefusal(w, status, refusal{Error: msg, Code: "unauthorized"})
		return
	}
	rec := &Record{
		ID: newActionID(), Phase: PhaseBegin, At: time.Now().UTC(), Actor: *actor,
		Action: string(scope), Method: r.Method, Route: pattern,
	}
	rec.Remote, rec.Via = remoteOf(r)
	switch {
	case status != 0: // a revoked token
		rec.Action = ActionUnauthorizedToken
		g.refuse(w, r, rec, scope, status, refusal{Error: msg, Code: "unauthorized"})
	case !actor.Role.Allows(scope):
		roles := RolesFor(scope)
		msg = "this route needs the " + joinOr(roles) + " role; the token of " + actor.Holder + " has the " + string(actor.Role) + " role"
		if len(roles) == 0 {
			msg = "this route is open to the bootstrap token only"
		}
		w.Header().Set(HeaderActor, actor.Holder)
		w.Header().Set(HeaderAuditID, rec.ID)
		g.refuse(w, r, rec, scope, http.StatusForbidden, refusal{Error: msg, Code: "forbidden", Scope: scope, Roles: roles})
	default:
		w.Header().Set(HeaderActor, actor.Holder)
		w.Header().Set(HeaderAuditID, rec.ID)
		g.carryOut(w, r, rec, scope, h)
	}
}

// refuse records a known holder's refused request (403, or 401 for a
// revoked token) and answers it. The request does nothing, so a record that
// cannot be written changes nothing: it is logged.
func (g *Guard) refuse(w http.ResponseWriter, r *http.Request, rec *Record, scope Scope, status int, body refusal) {
	rec.Phase, rec.Status, rec.Detail = PhaseOnce, status, body.Error
	_, _ = describe(r, scope, rec, false)
	if err := g.cfg.Audit.Write(context.WithoutCancel(r.Context()), rec); err != nil {
		g.log.Error("admin: could not record a refused request", "holder", rec.Holder, "route", rec.Route, "err", err)
	}
	writeRefusal(w, status, body)
}

// carryOut records the request's begin, runs h unless that record could
// not be written (503: fail closed), and records the outcome.
func (g *Guard) carryOut(w http.ResponseWriter, r *http.Request, rec *Record, scope Scope, h http.Handler) {
	body, err := describe(r, scope, rec, true)
	if err != nil {
		writeRefusal(w, http.StatusBadRequest, refusal{Error: "reading the body: " + err.Error(), Code: "unreadable_body"})
		return
	}
	if err := g.cfg.Audit.Write(r.Context(), rec); err != nil {
		g.log.Error("admin: refusing a request the audit trail could not record", "route", rec.Route, "holder", rec.Holder, "err", err)
		writeRefusal(w, http.StatusServiceUnavailable, refusal{
			Error: "the audit trail could not record this request, so it was not carried out; retry", Code: "audit_unavailable"})
		return
	}
	if body != nil {
		r.Body = body
	}
	rw := newRecorder(w, scope)
	end := func(status int, detail string) {
		done := rec.end(status, detail)
		rw.outcome(done)
		if err := g.cfg.Audit.Write(context.WithoutCancel(r.Context()), done); err != nil {
			g.log.Error("admin: could not record the outcome of a request (its begin record stands)",
				"audit", rec.ID, "route", rec.Route, "status", status, "err", err)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			end(http.StatusInternalServerError, "the handler failed")
			panic(p) // the api server answers 500 and counts it
		}
	}()
	h.ServeHTTP(rw, r.WithContext(WithActor(r.Context(), rec.Actor)))
	end(rw.code(), "")
}

// authenticate returns the actor of r's bearer token, or a status (401,
// 503) and why; a revoked token returns its actor with 401.
func (g *Guard) authenticate(r *http.Request) (*Actor, int, string) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, http.StatusUnauthorized, "admin API: missing bearer token"
	}
	sum := sha256.Sum256([]byte(token))
	if g.cfg.Bootstrap != "" && subtle.ConstantTimeCompare(sum[:], g.bootstrap[:]) == 1 {
		a := Bootstrap
		return &a, 0, ""
	}
	if g.cfg.Tokens == nil {
		return nil, http.StatusUnauthorized, "admin API: wrong bearer token"
	}
	ctx, cancel := context.WithTimeout(r.Context(), g.cfg.CatchUpTimeout)
	defer cancel()
	if err := g.cfg.Tokens.CatchUp(ctx); err != nil {
		g.log.Warn("admin: the admin-tokens table is not caught up; refusing", "err", err)
		return nil, http.StatusServiceUnavailable, "admin tokens cannot be checked now (the admin-tokens topic is not readable); retry"
	}
	// A map lookup by the token's SHA-256 leaks nothing of the token: its
	// timing depends on the digest, which no one can steer to a preimage.
	t, ok := g.cfg.Tokens.Lookup(sum)
	switch {
	case !ok:
		return nil, http.StatusUnauthorized, "admin API: unknown bearer token"
	case t.Revoked():
		return &Actor{Holder: t.Holder, TokenID: t.ID, Role: t.Role}, http.StatusUnauthorized,
			"admin API: token " + t.ID + " was revoked"
	}
	return &Actor{Holder: t.Holder, TokenID: t.ID, Role: t.Role}, 0, ""
}

// remoteOf is where r came from: the client the api server resolved
// (behind a trusted proxy, the address it forwarded, and the proxy), else
// the connection's peer.
func remoteOf(r *http.Request) (remote, via string) {
	if c, ok := api.ClientOf(r.Context()); ok {
		return c.Addr, c.Via
	}
	return r.RemoteAddr, ""
}

// end returns the end record of the action rec begins.
func (rec *Record) end(status int, detail string) *Record {
	e := *rec
	e.Phase, e.At, e.Status, e.Detail = PhaseEnd, time.Now().UTC(), status, detail
	// The begin record holds the subjects; the end record need not repeat
	// up to 5,000 of them.
	e.SubjectIDs = nil
	return &e
}

func joinOr(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}
