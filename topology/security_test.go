package topology

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// lockedBuffer is a log sink several goroutines write.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// startSecurityStack runs every role of ws on a fresh embedded broker with
// cfg's admin settings, its logs (debug and up) into the returned buffer.
func startSecurityStack(t *testing.T, ctx context.Context, ws config.Config, cfg Config) (*adminStack, *lockedBuffer) {
	t.Helper()
	b := broker.ForTest(t)
	ws = ws.WithDefaults()
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
	logs := &lockedBuffer{}
	s := &adminStack{t: t, ctx: ctx, broker: b, ws: ws, api: "http://" + ln.Addr().String(), errs: make(chan error, 1)}
	cfg.Cluster, cfg.Workspace, cfg.Roles, cfg.APIListener = cluster.Plain(b.Addr()), ws, AllRoles, ln
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	runCtx, stop := context.WithCancel(ctx)
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
	s.eventually("the api to answer", func() bool { return s.do("GET", "/healthz", "", "").status == 200 })
	return s, logs
}

// Production without a bootstrap token (`sluice run` without
// --admin-token): the admin API takes personal tokens and nothing else. And
// behind a trusted proxy, the audit trail records the client address the
// proxy forwarded, and the proxy.
func TestAdminWithoutBootstrapTokenBehindAProxy(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ws := config.Config{Workspace: "acme", Encryption: config.Encryption{Disabled: true},
		Sources: []config.Source{{Name: "web", WriteKey: "wk_prod"}}}
	s, _ := startSecurityStack(t, ctx, ws, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	tok, _, err := s.console.CreateToken(ctx, "alice@acme.com", admin.RolePrivacy)
	if err != nil {
		t.Fatal(err)
	}
	var got answer
	s.eventually("the personal token to be served", func() bool {
		got = s.do("GET", "/v1/regulations", tok, "")
		return got.status == 200
	})
	if got.header.Get(admin.HeaderActor) != "alice@acme.com" {
		t.Fatalf("served as %q", got.header.Get(admin.HeaderActor))
	}
	for _, guess := range []string{"", " ", "bootstrap", adminBootstrap, "Bearer", strings.Repeat("0", 64)} {
		req, _ := http.NewRequestWithContext(ctx, "GET", s.api+"/v1/regulations", nil)
		req.Header.Set("Authorization", "Bearer "+guess)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("bearer %q without a bootstrap token: %d, want 401", guess, resp.StatusCode)
		}
	}
	if got := s.do("GET", "/v1/regulations", "", ""); got.status != 401 {
		t.Errorf("no Authorization: %d", got.status)
	}

	// Through the trusted proxy (127.0.0.1): the trail holds the client it
	// forwarded, not the proxy's address alone.
	req, _ := http.NewRequestWithContext(ctx, "GET", s.api+"/v1/regulations", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get(admin.HeaderAuditID)
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("through the proxy: %d, audit id %q", resp.StatusCode, id)
	}
	var entry *admin.Entry
	for _, e := range s.audit(admin.Filter{Holder: "alice@acme.com"}) {
		if e.ID == id {
			entry = &e
		}
	}
	if entry == nil || entry.Remote != "203.0.113.7" || !strings.HasPrefix(entry.Via, "127.0.0.1:") {
		t.Fatalf("audit entry %+v, want remote 203.0.113.7 via 127.0.0.1", entry)
	}
	t.Logf("recorded as: %s", entry.Line())
}

// Finding 4: credentials in a destination's URLs (user info, query values)
// must not reach the logs, the regulation status the admin API serves, or
// any topic. A webhook destination with a planted secret refuses events
// (400: dead letters) and deletions (500: the regulation's error).
func TestDestinationURLSecretsAreRedacted(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	const secret = "s3cret"
	var events, deletes atomic.Int64
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/delete") {
			deletes.Add(1)
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		events.Add(1)
		http.Error(w, "bad event", http.StatusBadRequest)
	}))
	defer hook.Close()
	host := strings.TrimPrefix(hook.URL, "http://")
	ws := config.Config{Workspace: "acme", Encryption: config.Encryption{Disabled: true},
		Sources: []config.Source{{Name: "web", WriteKey: "wk_sec"}},
		Destinations: []config.Destination{{Name: "crm", Type: config.DestinationWebhook, Settings: map[string]any{
			"url":       "http://user:" + secret + "@" + host + "/x?token=" + secret,
			"deleteUrl": "http://user:" + secret + "@" + host + "/delete?token=" + secret,
		}}},
	}
	s, logs := startSecurityStack(t, ctx, ws, Config{AdminToken: adminBootstrap})

	if got := s.do("POST", "/v1/track", "wk_sec", `{"userId":"u-sec","event":"Signed Up"}`); got.status != 200 {
		t.Fatalf("track: %d %s", got.status, got.body)
	}
	s.eventually("the refused delivery's dead letter", func() bool {
		return events.Load() > 0 && len(topicBytes(t, ctx, s.broker.Addr(), s.ws.TopicPrefix+topics.DeadLetter)) > 0
	})
	filed := s.do("POST", "/v1/regulations", adminBootstrap, `{"regulationType":"SUPPRESS_WITH_DELETE","subjectType":"USER_ID","subjectIds":["u-sec"]}`)
	var reg struct{ ID string }
	if filed.status != 200 || json.Unmarshal([]byte(filed.body), &reg) != nil {
		t.Fatalf("filing: %d %s", filed.status, filed.body)
	}
	var status answer
	s.eventually("the failed deletion in the regulation's status", func() bool {
		status = s.do("GET", "/v1/regulations/"+reg.ID, adminBootstrap, "")
		var st struct {
			Destinations []struct{ Name, Error string }
		}
		_ = json.Unmarshal([]byte(status.body), &st)
		for _, d := range st.Destinations {
			if d.Name == "crm" && d.Error != "" {
				return deletes.Load() > 0
			}
		}
		return false
	})
	t.Logf("regulation status: %s", status.body)

	// The checks below read something: the error names the destination's
	// host, and the logs and topics are not empty.
	if !strings.Contains(status.body, "127.0.0.1") {
		t.Fatalf("the regulation's error does not name the URL at all: %s", status.body)
	}
	if bytes.Contains([]byte(status.body), []byte(secret)) {
		t.Errorf("the regulation status served by the admin API holds the secret: %s", status.body)
	}
	l := logs.Bytes()
	if len(l) == 0 {
		t.Fatal("no logs to read")
	}
	mentions := 0
	for _, line := range bytes.Split(l, []byte("\n")) {
		if bytes.Contains(line, []byte(host)) {
			mentions++
		}
		if bytes.Contains(line, []byte(secret)) {
			t.Errorf("a log line holds the secret: %s", line)
		}
	}
	if mentions == 0 {
		t.Errorf("no log line names the destination's URL: the check read nothing relevant")
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	listed, err := kadm.NewClient(cl).ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for _, name := range listed.Names() {
		raw := topicBytes(t, ctx, s.broker.Addr(), name)
		read += len(raw)
		if i := bytes.Index(raw, []byte(secret)); i >= 0 {
			t.Errorf("topic %s holds the secret: …%s…", name, raw[max(0, i-200):min(len(raw), i+100)])
		}
	}
	t.Logf("%d topics, %d bytes of records and %d bytes of logs read: no %q", len(listed.Names()), read, len(logs.Bytes()), secret)
}
