package admin

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/topics"
)

// testEnv is a Guard in front of stub handlers, on the embedded broker with
// sluice's topics, and the console that makes its tokens.
type testEnv struct {
	t       *testing.T
	broker  *broker.Broker
	names   topics.Names
	console *Console
	tokens  *Tokens
	audit   *Auditor
	srv     *httptest.Server
}

const testBootstrap = "bootstrap-s3cret"

// testRoutes are the admin routes of sluice with their scopes; each stub
// answers as the real handler would, in shape.
var testRoutes = []struct{ pattern, scope, answer string }{
	{"POST /v1/regulations", string(ScopeRegulationsFile), `{"id":"rg_stub"}`},
	{"GET /v1/regulations", string(ScopeRegulationsRead), `{"regulations":[]}`},
	{"GET /v1/regulations/{id}", string(ScopeRegulationsRead), `{"id":"rg_stub"}`},
	{"GET /v1/users/{id}/export", string(ScopeExport), "{\"row\":\"MARKER-ROW-1\"}\n{\"row\":\"MARKER-ROW-2\"}\n"},
	{"GET /v1/tracking-plans", string(ScopePlansRead), `{"plans":[]}`},
	{"POST /v1/tracking-plans", string(ScopePlansPublish), `{"plan":"web","version":3}`},
	{"GET /v1/deadletters", string(ScopeDeadLetters), `{}`},
	{"GET /v1/unscoped", "", `{}`},
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	b := broker.ForTest(t)
	names := topics.Names{Prefix: "sluice."}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := topics.Ensure(t.Context(), kadm.NewClient(cl), names.All(3, nil)); err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, broker: b, names: names}
	if e.console, err = NewConsole(ConsoleConfig{Brokers: []string{b.Addr()}, Topics: names}); err != nil {
		t.Fatal(err)
	}
	if e.tokens, err = OpenTokens([]string{b.Addr()}, nil, names.Of(topics.AdminTokens), nil); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = e.tokens.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	if e.audit, err = NewAuditor([]string{b.Addr()}, nil, names.Of(topics.Audit), nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.audit.Close)
	g := NewGuard(GuardConfig{Bootstrap: testBootstrap, Tokens: e.tokens, Audit: e.audit})
	mux := http.NewServeMux()
	for _, rt := range testRoutes {
		answer := rt.answer
		mux.Handle(rt.pattern, g.Wrap(rt.pattern, rt.scope, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/export") {
				w.Header().Set("Content-Type", "application/x-ndjson")
			}
			_, _ = io.WriteString(w, answer)
		})))
	}
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// reply is an answer of the test server.
type reply struct {
	status int
	header http.Header
	body   string
}

func (e *testEnv) do(method, path, token, body string) reply {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(data)}
}

func (e *testEnv) create(holder string, role Role) (string, Token) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	token, tok, err := e.console.CreateToken(ctx, holder, role)
	if err != nil {
		e.t.Fatal(err)
	}
	return token, tok
}

func (e *testEnv) readAudit(f Filter) []Entry {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	entries, skipped, err := e.console.ReadAudit(ctx, f)
	if err != nil || skipped > 0 {
		e.t.Fatalf("reading the audit trail: %v (%d skipped)", err, skipped)
	}
	return entries
}

// rawTopic returns every key and value of a topic, as the broker holds them.
func rawTopic(t *testing.T, addr, topic string) []byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadUncommitted()),
		kgo.KeepControlRecords()) // a transaction's marker ends a partition too
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
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

// serve runs one GET through h with token, without a network.
func serve(h http.Handler, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}
