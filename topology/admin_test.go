package topology

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// adminStack is every role on the embedded broker and the local ClickHouse
// engine, with the admin console of the workspace.
type adminStack struct {
	t       *testing.T
	ctx     context.Context
	broker  *broker.Broker
	ws      config.Config
	api     string
	console *admin.Console
	errs    chan error
}

const adminBootstrap = "adm-bootstrap"

func startAdminStack(t *testing.T, ctx context.Context) *adminStack {
	t.Helper()
	b := broker.ForTest(t)
	ch, err := chlocal.Start(ctx, chlocal.Config{DataPath: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	t.Setenv("SLUICE_TEST_KEK", strings.Repeat("cd", 32))
	ws := config.Config{
		Workspace:  "acme",
		Encryption: config.Encryption{KEKs: []config.KEKConfig{{ID: "k1", SecretEnv: "SLUICE_TEST_KEK"}}, Current: "k1"},
		Sources:    []config.Source{{Name: "web", WriteKey: "wk_admin"}},
		Destinations: []config.Destination{{Name: "warehouse", Type: config.DestinationClickHouse,
			Settings: map[string]any{"addr": ch.Addr(), "database": "default", "compression": "none"}}},
	}.WithDefaults()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := topics.Apply(ctx, kadm.NewClient(cl), topics.ForConfig(ws)); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &adminStack{t: t, ctx: ctx, broker: b, ws: ws, api: "http://" + ln.Addr().String(), errs: make(chan error, 1)}
	runCtx, stop := context.WithCancel(ctx)
	cfg := Config{Cluster: cluster.Plain(b.Addr()), Workspace: ws, Roles: AllRoles, APIListener: ln, AdminToken: adminBootstrap}
	go func() { s.errs <- Run(runCtx, cfg, nil) }()
	t.Cleanup(func() {
		stop()
		if err := <-s.errs; err != nil {
			t.Errorf("the roles stopped with %v", err)
		}
	})
	if s.console, err = admin.NewConsole(admin.ConsoleConfig{Brokers: []string{b.Addr()}, Topics: topics.Names{Prefix: ws.TopicPrefix}}); err != nil {
		t.Fatal(err)
	}
	s.eventually("the api to answer", func() bool { return s.do("GET", "/v1/regulations", adminBootstrap, "").status == 200 })
	return s
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (s *adminStack) do(method, path, token, body string) answer {
	req, _ := http.NewRequestWithContext(s.ctx, method, s.api+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	switch {
	case strings.HasPrefix(token, "wk_"):
		req.SetBasicAuth(token, "")
	case token != "":
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return answer{body: err.Error()}
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(data)}
}

func (s *adminStack) eventually(what string, cond func() bool) {
	s.t.Helper()
	for !cond() {
		select {
		case err := <-s.errs:
			s.errs <- err
			s.t.Fatalf("waiting for %s, the roles stopped: %v", what, err)
		case <-s.ctx.Done():
			s.t.Fatalf("gave up waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *adminStack) audit(f admin.Filter) []admin.Entry {
	s.t.Helper()
	entries, skipped, err := s.console.ReadAudit(s.ctx, f)
	if err != nil || skipped > 0 {
		s.t.Fatalf("reading the audit trail: %v (%d skipped)", err, skipped)
	}
	return entries
}

// Personal tokens with roles on the running api role, against its real
// admin routes: each role reaches exactly its routes (403 naming the role
// needed otherwise), the bootstrap token every one, an unknown token none; a
// revoked token is refused from the next request. A filing records who filed
// it, an export how many rows it returned and none of them, and a tombstone
// that erases a regulation shows in the audit trail.
func TestAdminTokensRolesAndAudit(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	s := startAdminStack(t, ctx)

	tokens := map[admin.Role]string{}
	for _, r := range admin.Roles {
		tok, _, err := s.console.CreateToken(ctx, string(r)+"@acme.com", r)
		if err != nil {
			t.Fatal(err)
		}
		tokens[r] = tok
	}
	filed := s.do("POST", "/v1/regulations", adminBootstrap, `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u-boot"]}`)
	var reg struct{ ID string }
	if filed.status != 200 || json.Unmarshal([]byte(filed.body), &reg) != nil {
		t.Fatalf("filing with the bootstrap token: %d %s", filed.status, filed.body)
	}

	routes := []struct {
		method, path, body string
		roles              []admin.Role // allowed; bootstrap always
	}{
		{"POST", "/v1/regulations", `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u-roles"]}`, []admin.Role{admin.RolePrivacy}},
		{"GET", "/v1/regulations", "", []admin.Role{admin.RolePrivacy, admin.RoleViewer}},
		{"GET", "/v1/regulations/" + reg.ID, "", []admin.Role{admin.RolePrivacy, admin.RoleViewer}},
		{"GET", "/v1/users/u-roles/export", "", []admin.Role{admin.RolePrivacy}},
		{"GET", "/v1/tracking-plans", "", []admin.Role{admin.RoleSchema, admin.RoleViewer}},
		{"GET", "/v1/tracking-plans/web", "", []admin.Role{admin.RoleSchema, admin.RoleViewer}},
		{"GET", "/v1/tracking-plans/web/versions/1", "", []admin.Role{admin.RoleSchema, admin.RoleViewer}},
		{"POST", "/v1/tracking-plans?dryRun=true", `{}`, []admin.Role{admin.RoleSchema}},
	}
	for _, rt := range routes {
		holders := map[string]admin.Role{adminBootstrap: admin.RoleBootstrap}
		for r, tok := range tokens {
			holders[tok] = r
		}
		for tok, r := range holders {
			got := s.do(rt.method, rt.path, tok, rt.body)
			allowed := r == admin.RoleBootstrap || containsRole(rt.roles, r)
			holder := string(r) + "@acme.com"
			if r == admin.RoleBootstrap {
				holder = "bootstrap"
			}
			switch {
			case got.header.Get(admin.HeaderActor) != holder:
				t.Errorf("%s %s as %s: %s %q, want %q", rt.method, rt.path, r, admin.HeaderActor, got.header.Get(admin.HeaderActor), holder)
			case allowed && (got.status == 401 || got.status == 403 || got.status >= 500):
				t.Errorf("%s %s as %s: %d %s, want it served", rt.method, rt.path, r, got.status, got.body)
			case !allowed && (got.status != 403 || !strings.Contains(got.body, string(rt.roles[0]))):
				t.Errorf("%s %s as %s: %d %s, want 403 naming %s", rt.method, rt.path, r, got.status, got.body, rt.roles[0])
			}
		}
		if got := s.do(rt.method, rt.path, "tok_nope.x", rt.body); got.status != 401 {
			t.Errorf("%s %s with an unknown token: %d", rt.method, rt.path, got.status)
		}
	}

	// Revoked: refused from the next request, on the running api.
	list, err := s.console.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Role == admin.RoleViewer {
			if _, err := s.console.RevokeToken(ctx, tok.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := s.do("GET", "/v1/regulations", tokens[admin.RoleViewer], ""); got.status != 401 {
		t.Fatalf("a revoked token: %d %s", got.status, got.body)
	}

	// An export: the audit records whose data and how many rows, not the rows.
	var mark [8]byte
	_, _ = rand.Read(mark[:])
	marker := "MARKER-" + hex.EncodeToString(mark[:])
	user := "u-export"
	for _, ev := range []string{
		`{"userId":"` + user + `","event":"Signed Up","properties":{"note":"` + marker + `"}}`,
		`{"userId":"` + user + `","event":"Upgraded","properties":{"note":"` + marker + `"}}`,
	} {
		if got := s.do("POST", "/v1/track", "wk_admin", ev); got.status != 200 {
			t.Fatalf("track: %d %s", got.status, got.body)
		}
	}
	var export answer
	s.eventually("both events in the export", func() bool {
		export = s.do("GET", "/v1/users/"+user+"/export", tokens[admin.RolePrivacy], "")
		return export.status == 200 && strings.Count(export.body, marker) == 2
	})
	rows := int64(strings.Count(export.body, "\n"))
	if rows < 2 {
		t.Fatalf("the export has %d lines: %s", rows, export.body)
	}
	privacy := s.audit(admin.Filter{Holder: "privacy@acme.com", Subject: user})
	last := privacy[len(privacy)-1]
	if last.Route != "GET /v1/users/{id}/export" || last.Rows == nil || *last.Rows != rows || last.Status != 200 ||
		last.TokenID == "" || last.Remote == "" || last.Unfinished {
		t.Fatalf("the export's audit entry %+v, want %d rows", last, rows)
	}
	t.Logf("export of %d rows recorded as: %s", rows, last.Line())
	raw := topicBytes(t, ctx, s.broker.Addr(), s.ws.TopicPrefix+topics.Audit)
	if !bytes.Contains(raw, []byte(user)) {
		t.Fatal("the byte check reads nothing: the subject is not in the audit topic either")
	}
	if bytes.Contains(raw, []byte(marker)) {
		t.Fatal("the audit topic holds exported data")
	}

	// A filing records who filed it, in the regulation and in the trail.
	filed = s.do("POST", "/v1/regulations", tokens[admin.RolePrivacy], `{"regulationType":"DELETE_INTERNAL","subjectType":"USER_ID","subjectIds":["`+user+`"]}`)
	if filed.status != 200 || json.Unmarshal([]byte(filed.body), &reg) != nil {
		t.Fatalf("filing: %d %s", filed.status, filed.body)
	}
	got := s.do("GET", "/v1/regulations/"+reg.ID, tokens[admin.RolePrivacy], "")
	var full struct {
		FiledBy *admin.Actor `json:"filedBy"`
	}
	if json.Unmarshal([]byte(got.body), &full) != nil || full.FiledBy == nil || full.FiledBy.Holder != "privacy@acme.com" ||
		full.FiledBy.Role != admin.RolePrivacy || !strings.HasPrefix(full.FiledBy.TokenID, "tok_") {
		t.Fatalf("the regulation does not say who filed it: %s", got.body)
	}
	filings := s.audit(admin.Filter{Regulation: reg.ID})
	if len(filings) < 2 || filings[0].Action != string(admin.ScopeRegulationsFile) || filings[0].Holder != "privacy@acme.com" ||
		filings[0].SubjectIDs[0] != user || filings[1].Route != "GET /v1/regulations/{id}" {
		t.Fatalf("the trail of %s: %+v", reg.ID, filings)
	}

	// A stray tombstone on the regulations topic erases a regulation: it shows.
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker.Addr()), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: s.ws.TopicPrefix + topics.Regulations, Key: []byte(reg.ID)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	s.eventually("the erasure in the audit trail", func() bool {
		for _, e := range s.audit(admin.Filter{Regulation: reg.ID}) {
			if e.Action == admin.ActionRegulationErased && strings.Contains(e.Detail, "tombstone") {
				return true
			}
		}
		return false
	})
}

func containsRole(rs []admin.Role, r admin.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// topicBytes returns every key, value and header of a topic.
func topicBytes(t *testing.T, ctx context.Context, addr, topic string) []byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	var all bytes.Buffer
	for len(want) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %s: %v", topic, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			all.Write(r.Key)
			all.Write(r.Value)
			for _, h := range r.Headers {
				all.WriteString(h.Key)
				all.Write(h.Value)
			}
			if r.Offset+1 >= want[r.Partition] {
				delete(want, r.Partition)
			}
		})
	}
	return all.Bytes()
}

// docs/admin.md's roles table lists, for each role, exactly the admin
// routes its scopes reach.
func TestAdminDocRolesTable(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "admin.md"))
	if err != nil {
		t.Fatal(err)
	}
	routes := adminRoutes(http.NotFoundHandler(), nil, nil)
	seen := map[admin.Role]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		role := admin.Role(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		if !role.Valid() {
			continue
		}
		seen[role] = true
		var documented, real []string
		for i, part := range strings.Split(cells[3], "`") {
			if i%2 == 1 {
				documented = append(documented, part)
			}
		}
		for _, rt := range routes {
			if role.Allows(admin.Scope(rt.Scope)) {
				real = append(real, rt.Pattern)
			}
		}
		slices.Sort(documented)
		slices.Sort(real)
		if !slices.Equal(documented, real) {
			t.Errorf("docs/admin.md: %s reaches\n %v\nbut the routes it may use are\n %v", role, documented, real)
		}
	}
	for _, r := range admin.Roles {
		if !seen[r] {
			t.Errorf("docs/admin.md has no row for the role %s", r)
		}
	}
	for _, rt := range routes {
		if rt.Scope == "" {
			t.Errorf("admin route %s declares no scope: only the bootstrap token could use it", rt.Pattern)
		}
	}
}
