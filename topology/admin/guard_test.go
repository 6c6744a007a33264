package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/topics"
)

// Every role against every route: allowed, 403 naming the roles that may,
// 401 for unknown tokens; a revoked token is refused by the very next
// request; each admin answer names its holder.
func TestGuardRolesAndRevocation(t *testing.T) {
	e := newTestEnv(t)
	tokens := map[Role]string{}
	for _, r := range Roles {
		tokens[r], _ = e.create(string(r)+"@acme.com", r)
	}
	allowed := map[string][]Role{ // pattern → roles allowed; bootstrap always
		"POST /v1/regulations":      {RolePrivacy},
		"GET /v1/regulations":       {RolePrivacy, RoleViewer},
		"GET /v1/regulations/{id}":  {RolePrivacy, RoleViewer},
		"GET /v1/users/{id}/export": {RolePrivacy},
		"GET /v1/tracking-plans":    {RoleSchema, RoleViewer},
		"POST /v1/tracking-plans":   {RoleSchema},
		"GET /v1/deadletters":       {RoleOperator},
		"GET /v1/unscoped":          nil,
	}
	path := func(pattern string) (string, string) {
		method, p, _ := strings.Cut(pattern, " ")
		return method, strings.ReplaceAll(p, "{id}", "x-1")
	}
	for _, rt := range testRoutes {
		method, p := path(rt.pattern)
		for _, r := range Roles {
			got := e.do(method, p, tokens[r], `{}`)
			want := http.StatusForbidden
			if slices.Contains(allowed[rt.pattern], r) {
				want = http.StatusOK
			}
			if got.status != want || got.header.Get(HeaderActor) != string(r)+"@acme.com" || got.header.Get(HeaderAuditID) == "" {
				t.Errorf("%s as %s: %d (actor %q), want %d: %s", rt.pattern, r, got.status, got.header.Get(HeaderActor), want, got.body)
				continue
			}
			if want == http.StatusForbidden {
				var body refusal
				if json.Unmarshal([]byte(got.body), &body) != nil || body.Code != "forbidden" || body.Scope != Scope(rt.scope) ||
					!slices.Equal(body.Roles, RolesFor(Scope(rt.scope))) {
					t.Errorf("%s as %s: refusal %s", rt.pattern, r, got.body)
				}
				for _, need := range body.Roles {
					if !strings.Contains(body.Error, string(need)) {
						t.Errorf("%s as %s: %q does not name the role %s", rt.pattern, r, body.Error, need)
					}
				}
			}
		}
		if got := e.do(method, p, testBootstrap, `{}`); got.status != http.StatusOK || got.header.Get(HeaderActor) != "bootstrap" {
			t.Errorf("%s with the bootstrap token: %d %s", rt.pattern, got.status, got.body)
		}
		for _, bad := range []string{"", "wrong", tokens[RolePrivacy] + "x", testBootstrap + "x"} {
			if got := e.do(method, p, bad, `{}`); got.status != http.StatusUnauthorized || got.header.Get(HeaderActor) != "" {
				t.Errorf("%s with token %q: %d %s", rt.pattern, bad, got.status, got.body)
			}
		}
	}

	// Revocation holds from the first request after the console returns:
	// the guard catches the table up before judging a token.
	_, tok := e.console.tokensForTest(t, "privacy@acme.com")
	if _, err := e.console.RevokeToken(t.Context(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if got := e.do("GET", "/v1/regulations", tokens[RolePrivacy], ""); got.status != http.StatusUnauthorized || !strings.Contains(got.body, "revoked") {
		t.Fatalf("a revoked token: %d %s", got.status, got.body)
	}
	if _, err := e.console.RevokeToken(t.Context(), tok.ID); err != ErrAlreadyRevoked {
		t.Errorf("revoking twice: %v", err)
	}
	if got := e.do("GET", "/v1/regulations", tokens[RoleViewer], ""); got.status != http.StatusOK {
		t.Errorf("another holder's token after the revocation: %d", got.status)
	}

	// The trail has the refusals, the revoked token's use and the console's actions.
	entries := e.readAudit(Filter{Holder: "privacy@acme.com"})
	var sawForbidden, sawRevokedUse bool
	for _, en := range entries {
		sawForbidden = sawForbidden || (en.Status == http.StatusForbidden && en.Route == "POST /v1/tracking-plans")
		sawRevokedUse = sawRevokedUse || (en.Action == ActionUnauthorizedToken && en.TokenID == tok.ID && en.Status == http.StatusUnauthorized)
	}
	if !sawForbidden || !sawRevokedUse {
		t.Errorf("privacy's trail lacks the 403 (%v) or the revoked token's use (%v): %v", sawForbidden, sawRevokedUse, lines(entries))
	}
	var created, revoked int
	for _, en := range e.readAudit(Filter{}) {
		if en.Token != nil && en.Role == "cli" {
			switch en.Action {
			case ActionTokenCreate:
				created++
			case ActionTokenRevoke:
				revoked++
				if en.Token.ID != tok.ID {
					t.Errorf("revocation of %s recorded for %s", tok.ID, en.Token.ID)
				}
			}
		}
	}
	if created != len(Roles) || revoked != 1 {
		t.Errorf("%d creations and %d revocations recorded, want %d and 1", created, revoked, len(Roles))
	}
}

// tokensForTest finds a holder's token in the console's listing.
func (c *Console) tokensForTest(t *testing.T, holder string) ([]Token, Token) {
	t.Helper()
	list, err := c.ListTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Holder == holder {
			return list, tok
		}
	}
	t.Fatalf("no token of %s in %v", holder, list)
	return nil, Token{}
}

func lines(entries []Entry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("\n  " + e.Line())
	}
	return b.String()
}

// An export is recorded with whose data and how many rows, never the rows;
// a filing with its subjects and the regulation id of its answer.
func TestGuardRecordsWhatNotThePayload(t *testing.T) {
	e := newTestEnv(t)
	token, tok := e.create("alice@acme.com", RolePrivacy)
	got := e.do("GET", "/v1/users/u-42/export?subjectType=USER_ID", token, "")
	if got.status != http.StatusOK || !strings.Contains(got.body, "MARKER-ROW-2") {
		t.Fatalf("export: %d %s", got.status, got.body)
	}
	got = e.do("POST", "/v1/regulations", token, `{"regulationType":"DELETE_ONLY","subjectType":"USER_ID","subjectIds":["u-42","u-43"]}`)
	if got.status != http.StatusOK {
		t.Fatalf("filing: %d %s", got.status, got.body)
	}
	entries := e.readAudit(Filter{Subject: "u-42"})
	if len(entries) != 2 {
		t.Fatalf("%d entries for u-42, want the export and the filing: %s", len(entries), lines(entries))
	}
	x, f := entries[0], entries[1]
	if x.Route != "GET /v1/users/{id}/export" || x.Rows == nil || *x.Rows != 2 || x.Status != 200 || x.Unfinished ||
		x.Holder != "alice@acme.com" || x.TokenID != tok.ID || x.Role != RolePrivacy || x.Remote == "" || x.SubjectType != "USER_ID" {
		t.Errorf("export entry %+v", x)
	}
	if f.Action != string(ScopeRegulationsFile) || f.RegulationID != "rg_stub" || f.RegulationType != "DELETE_ONLY" ||
		!slices.Equal(f.SubjectIDs, []string{"u-42", "u-43"}) || f.Status != 200 {
		t.Errorf("filing entry %+v", f)
	}
	if line := x.Line(); !strings.Contains(line, "alice@acme.com") || !strings.Contains(line, "rows=2") || !strings.Contains(line, `"u-42"`) {
		t.Errorf("line %q", line)
	}
	raw := rawTopic(t, e.broker.Addr(), e.names.Of(topics.Audit))
	if !bytes.Contains(raw, []byte("u-42")) {
		t.Fatal("the byte check reads nothing: the subject id is not in the audit topic either")
	}
	if bytes.Contains(raw, []byte("MARKER-ROW")) {
		t.Fatal("the audit topic holds exported data")
	}
}

// No record, no action: with the audit trail unwritable the handler never
// runs and the answer is 503; with the tokens table unreadable a personal
// token gets 503, not a guess.
func TestGuardFailsClosed(t *testing.T) {
	e := newTestEnv(t)
	token, _ := e.create("alice@acme.com", RolePrivacy)

	// A table on a cluster that is gone cannot catch up.
	gone := broker.ForTest(t)
	stale, err := OpenTokens([]string{gone.Addr()}, nil, "sluice.admin-tokens", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stale.Close()
	gone.Close()
	ran := false
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { ran = true })
	g := NewGuard(GuardConfig{Bootstrap: testBootstrap, Tokens: stale, Audit: e.audit, CatchUpTimeout: 300 * time.Millisecond})
	rec := serve(g.Wrap("GET /v1/regulations", string(ScopeRegulationsRead), h), token)
	if rec.Code != http.StatusServiceUnavailable || ran {
		t.Fatalf("tokens table unreadable: %d, handler ran %v", rec.Code, ran)
	}

	closed, err := NewAuditor([]string{e.broker.Addr()}, nil, e.names.Of(topics.Audit), nil)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	g = NewGuard(GuardConfig{Bootstrap: testBootstrap, Tokens: e.tokens, Audit: closed})
	for _, tok := range []string{testBootstrap, token} {
		rec := serve(g.Wrap("GET /v1/users/{id}/export", string(ScopeExport), h), tok)
		if rec.Code != http.StatusServiceUnavailable || ran || !strings.Contains(rec.Body.String(), "audit") {
			t.Fatalf("audit unwritable: %d %s, handler ran %v", rec.Code, rec.Body, ran)
		}
	}
}

// A handler that panics is recorded as a 500 and the panic goes on to the
// api server, which answers and counts it.
func TestGuardRecordsAPanic(t *testing.T) {
	e := newTestEnv(t)
	g := NewGuard(GuardConfig{Bootstrap: testBootstrap, Tokens: e.tokens, Audit: e.audit})
	h := g.Wrap("GET /v1/regulations", string(ScopeRegulationsRead), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("a bug")
	}))
	func() {
		defer func() {
			if p := recover(); p != "a bug" {
				t.Errorf("recovered %v, want the handler's panic", p)
			}
		}()
		serve(h, testBootstrap)
	}()
	entries := e.readAudit(Filter{Holder: "bootstrap"})
	if len(entries) != 1 || entries[0].Status != http.StatusInternalServerError || entries[0].Unfinished {
		t.Fatalf("entries %s", lines(entries))
	}
}
