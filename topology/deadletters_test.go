package topology

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/deadletters"
	"github.com/sluicehq/sluice/topology/topics"
)

// receiver is a real webhook receiver: it answers status (0: 200) and
// counts the messageIds of the batches it accepts.
type receiver struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if s := r.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		var b struct{ Batch []struct{ MessageID string } }
		body, _ := io.ReadAll(req.Body)
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("webhook body %q: %v", body, err)
		}
		r.mu.Lock()
		for _, e := range b.Batch {
			r.got[e.MessageID]++
		}
		r.mu.Unlock()
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

func (r *receiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.got {
		n += c
	}
	return n
}

// startWebhookStack runs every role on the embedded broker, with one
// webhook destination, crm, posting to rcv, and encryption on.
func startWebhookStack(t *testing.T, ctx context.Context, rcv *receiver) *adminStack {
	t.Helper()
	b := broker.ForTest(t)
	t.Setenv("SLUICE_TEST_KEK", strings.Repeat("ab", 32))
	ws := config.Config{
		Workspace:  "acme",
		Encryption: config.Encryption{KEKs: []config.KEKConfig{{ID: "k1", SecretEnv: "SLUICE_TEST_KEK"}}, Current: "k1"},
		Sources:    []config.Source{{Name: "web", WriteKey: "wk_dead"}},
		Destinations: []config.Destination{{Name: "crm", Type: config.DestinationWebhook,
			Settings: map[string]any{"url": rcv.srv.URL + "/events", "batchWait": "20ms"}}},
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

// listing is GET /v1/deadletters with query q, as token.
func (s *adminStack) listing(token, q string) deadletters.Listing {
	s.t.Helper()
	got := s.do("GET", "/v1/deadletters?"+q, token, "")
	var l deadletters.Listing
	if got.status != 200 || json.Unmarshal([]byte(got.body), &l) != nil {
		s.t.Fatalf("GET /v1/deadletters?%s: %d %s", q, got.status, got.body)
	}
	return l
}

// replay is POST /v1/deadletters/replay with body, as token.
func (s *adminStack) replay(token, body string) deadletters.Report {
	s.t.Helper()
	got := s.do("POST", "/v1/deadletters/replay", token, body)
	var r deadletters.Report
	if got.status != 200 || json.Unmarshal([]byte(got.body), &r) != nil {
		s.t.Fatalf("POST /v1/deadletters/replay %s: %d %s", body, got.status, got.body)
	}
	return r
}

func unreadable(l deadletters.Listing, reason string) int {
	for _, g := range l.Unreadable {
		if g.Reason == reason {
			return g.Count
		}
	}
	return 0
}

func sinkLetters(l deadletters.Listing, dest string) (count, replayed int) {
	for _, g := range l.Groups {
		if g.Origin == deadletters.OriginSink && g.Destination == dest {
			count += g.Count
			replayed += g.Replayed
		}
	}
	return count, replayed
}

// Events dead-lettered by a permanent error (the webhook answers 400) are
// replayed once the cause is fixed: every event is delivered exactly once,
// except those of a user suppressed meanwhile (skipped by the replay) and of
// a user deleted meanwhile (their dead letters cannot be opened any more);
// a second replay of the same range replays nothing. The operator role
// reaches the routes, the viewer does not; the replay is on the audit trail
// with its counts and without a payload.
func TestDeadLettersReplayThroughThePrivacyRecheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	rcv := newReceiver(t)
	rcv.status.Store(http.StatusBadRequest)
	s := startWebhookStack(t, ctx, rcv)
	operator, _, err := s.console.CreateToken(ctx, "ops@acme.com", admin.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	viewer, _, err := s.console.CreateToken(ctx, "view@acme.com", admin.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}

	users := []string{"u1", "u2", "u3", "u4"}
	var batch []string
	for _, u := range users {
		for _, n := range []string{"1", "2"} {
			batch = append(batch, `{"type":"track","userId":"`+u+`","event":"Signed Up","messageId":"m-`+u+`-`+n+`","properties":{"email":"`+u+`@example.com"}}`)
		}
	}
	if got := s.do("POST", "/v1/batch", "wk_dead", `{"batch":[`+strings.Join(batch, ",")+`]}`); got.status != 200 {
		t.Fatalf("batch: %d %s", got.status, got.body)
	}
	s.eventually("8 dead letters of crm", func() bool { n, _ := sinkLetters(s.listing(operator, "destination=crm"), "crm"); return n == 8 })

	for _, route := range []struct{ method, path, body string }{
		{"GET", "/v1/deadletters", ""}, {"POST", "/v1/deadletters/replay", `{"destination":"crm","dryRun":true}`},
	} {
		if got := s.do(route.method, route.path, viewer, route.body); got.status != 403 || !strings.Contains(got.body, "operator") {
			t.Errorf("%s %s as a viewer: %d %s, want 403 naming operator", route.method, route.path, got.status, got.body)
		}
	}
	// Metadata without payloads unless asked for.
	shown := s.do("GET", "/v1/deadletters?destination=crm&show=true", operator, "")
	if shown.status != 200 || !strings.Contains(shown.body, `"messageId":"m-u1-1"`) || strings.Contains(shown.body, "u1@example.com") {
		t.Fatalf("show=true: %d %s", shown.status, shown.body)
	}
	if got := s.do("GET", "/v1/deadletters?destination=crm&payloads=true", operator, ""); !strings.Contains(got.body, `u1@example.com`) {
		t.Fatalf("payloads=true does not show the events: %s", got.body)
	}

	// Refused input is listed, never replayed.
	if got := s.do("POST", "/v1/track", "wk_dead", `{"userId":"u9","event":`); got.status != 400 {
		t.Fatalf("a truncated body: %d %s", got.status, got.body)
	}
	s.eventually("the api's dead letter", func() bool { return len(s.listing(operator, "origin=api").Groups) == 1 })
	if got := s.do("POST", "/v1/deadletters/replay", operator, `{"destination":"crm","origin":"api"}`); got.status != 400 || !strings.Contains(got.body, `"field":"origin"`) {
		t.Fatalf("replaying api dead letters: %d %s, want 400 naming origin", got.status, got.body)
	}

	// Meanwhile u2 is suppressed and u3 deleted (its data keys shredded).
	for _, reg := range []string{
		`{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u2"]}`,
		`{"regulationType":"DELETE_ONLY","subjectType":"USER_ID","subjectIds":["u3"]}`,
	} {
		if got := s.do("POST", "/v1/regulations", adminBootstrap, reg); got.status != 200 {
			t.Fatalf("filing %s: %d %s", reg, got.status, got.body)
		}
	}
	// Deleting u3 shreds its keys and every unattributed key (package
	// processors/shred): u3's two letters and the api's cannot be opened.
	s.eventually("u3's and the api's dead letters unreadable", func() bool { return unreadable(s.listing(operator, ""), "key_shredded") == 3 })
	if n, _ := sinkLetters(s.listing(operator, "destination=crm"), "crm"); n != 6 {
		t.Fatalf("%d readable dead letters of crm after u3's deletion, want 6", n)
	}

	rcv.status.Store(0) // the cause is fixed
	want := deadletters.Report{Destination: "crm", Topic: "sluice.dest.crm", Selected: 6, Replayed: 4, SkippedSuppressed: 2, SkippedShredded: 2}
	dry := s.replay(operator, `{"destination":"crm","dryRun":true}`)
	if wantDry := want; true {
		wantDry.DryRun = true
		if dry != wantDry {
			t.Fatalf("dry run: %+v, want %+v", dry, wantDry)
		}
	}
	rep := s.replay(operator, `{"destination":"crm"}`)
	if !strings.HasPrefix(rep.ID, "au_") {
		t.Fatalf("the replay has no id: %+v", rep)
	}
	if want.ID = rep.ID; rep != want {
		t.Fatalf("replay: %+v, want %+v", rep, want)
	}
	delivered := []string{"m-u1-1", "m-u1-2", "m-u4-1", "m-u4-2"}
	s.eventually("the replayed events delivered", func() bool {
		for _, m := range delivered {
			if rcv.count(m) == 0 {
				return false
			}
		}
		return true
	})

	again := s.replay(operator, `{"destination":"crm"}`)
	if again.Replayed != 0 || again.AlreadyReplayed != 4 || again.SkippedSuppressed != 2 {
		t.Fatalf("a second replay of the same range: %+v, want 0 replayed, 4 already replayed", again)
	}
	if _, replayed := sinkLetters(s.listing(operator, "destination=crm"), "crm"); replayed != 4 {
		t.Fatalf("the listing shows %d letters replayed, want 4", replayed)
	}
	time.Sleep(time.Second) // a duplicate would arrive meanwhile
	for _, m := range delivered {
		if n := rcv.count(m); n != 1 {
			t.Errorf("%s delivered %d times, want once", m, n)
		}
	}
	if n := rcv.total(); n != len(delivered) {
		t.Errorf("the receiver got %d events, want %d (none of u2, suppressed, or u3, deleted)", n, len(delivered))
	}

	s.checkReplayedRecords(rep.ID, 4)
	var found bool
	for _, e := range s.audit(admin.Filter{Holder: "ops@acme.com"}) {
		if e.Action != admin.ActionDeadLetterReplay || e.ID != rep.ID {
			continue
		}
		found = true
		raw, _ := json.Marshal(e)
		if e.Destination != "crm" || e.Counts["replayed"] != 4 || e.Counts["skippedSuppressed"] != 2 || e.Counts["skippedShredded"] != 2 ||
			e.Role != admin.RoleOperator || strings.Contains(string(raw), "example.com") || strings.Contains(string(raw), "m-u1") {
			t.Errorf("the replay's audit entry: %s", raw)
		}
	}
	if !found {
		t.Errorf("no %s entry %s on the audit trail", admin.ActionDeadLetterReplay, rep.ID)
	}
}

// checkReplayedRecords reads dest.crm: the replay's n records carry its id
// and their letter's, keep their events' keys, and are sealed under the
// data key of the records the router wrote for the same person.
func (s *adminStack) checkReplayedRecords(replay string, n int) {
	s.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.broker.Addr()), kgo.ConsumeTopics("sluice.dest.crm"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		s.t.Fatal(err)
	}
	defer cl.Close()
	var got []*kgo.Record
	routed := map[string]map[shred.KeyID]bool{} // record key → data keys of the router's records
	header := func(r *kgo.Record, k string) string {
		for _, h := range r.Headers {
			if h.Key == k {
				return string(h.Value)
			}
		}
		return ""
	}
	s.eventually("the replayed records on dest.crm", func() bool {
		pctx, cancel := context.WithTimeout(s.ctx, 200*time.Millisecond)
		defer cancel()
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			switch header(r, deadletters.HeaderReplay) {
			case replay:
				got = append(got, r)
			case "":
				id, _ := shred.EnvelopeKeyID(r.Value)
				if routed[string(r.Key)] == nil {
					routed[string(r.Key)] = map[shred.KeyID]bool{}
				}
				routed[string(r.Key)][id] = true
			}
		})
		return len(got) >= n
	})
	for _, r := range got {
		if k := string(r.Key); k != "acme/u1" && k != "acme/u4" {
			s.t.Errorf("a replayed record keyed %q", k)
		}
		if !shred.IsSealed(r.Value) || strings.Contains(string(r.Value), "example.com") {
			s.t.Errorf("a replayed record is not sealed: %q", r.Value)
		}
		if id, _ := shred.EnvelopeKeyID(r.Value); !routed[string(r.Key)][id] {
			s.t.Errorf("a replayed record of %s is sealed under another key than its events'", r.Key)
		}
		if header(r, deadletters.HeaderLetter) == "" {
			s.t.Errorf("a replayed record without %s", deadletters.HeaderLetter)
		}
	}
	if len(got) != n {
		s.t.Errorf("%d records of replay %s, want %d", len(got), replay, n)
	}
}

// Under the least-privilege ACLs of topics.ACLs, the api principal lists
// dead letters and replays them: it reads the deadletter, keys,
// suppressions and identities topics and writes dest.<name>, the markers
// and the audit record in a transaction of its own.
func TestDeadLettersUnderLeastPrivilegeACLs(t *testing.T) {
	b := broker.ForTest(t, broker.Config{
		Users:           []broker.User{{Mechanism: "SCRAM-SHA-512", Name: "admin", Password: "pw-admin"}},
		RestrictedUsers: []broker.User{{Mechanism: "SCRAM-SHA-512", Name: "sluice-api", Password: "pw-sluice-api"}},
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	t.Setenv("SLUICE_TEST_KEK", strings.Repeat("ab", 32))
	ws := config.Config{
		Workspace:  "acme",
		Encryption: config.Encryption{KEKs: []config.KEKConfig{{ID: "k1", SecretEnv: "SLUICE_TEST_KEK"}}, Current: "k1"},
		Sources:    []config.Source{{Name: "web", WriteKey: "wk_acl"}},
		Destinations: []config.Destination{{Name: "crm", Type: config.DestinationWebhook,
			Settings: map[string]any{"url": "http://127.0.0.1:1/events"}}},
	}.WithDefaults()
	superuser, err := connAs(t, b.Addr(), "admin").NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer superuser.Close()
	adm := kadm.NewClient(superuser)
	if _, err := topics.Apply(ctx, adm, topics.ForConfig(ws)); err != nil {
		t.Fatal(err)
	}
	if err := topics.ApplyACLs(ctx, adm, topics.ACLs(ws, topics.Principals{})); err != nil {
		t.Fatal(err)
	}
	// A sink dead letter of u1, sealed under u1's data key, as the sink writes it.
	kr, err := shred.NewKeyring("k1", shred.KEK{ID: "k1", Secret: []byte(strings.Repeat("\xab", 32))})
	if err != nil {
		t.Fatal(err)
	}
	kid, dek := shred.NewKeyID(), shred.NewDEK()
	key := kr.WrapRecord(shred.Subject{Workspace: "acme", Type: shred.UserID, ID: "u1"}, kid, &dek, time.Now())
	event := `{"type":"track","messageId":"m-acl","workspace":"acme","source":"web","userId":"u1","event":"E","timestamp":"2026-12-05T00:00:00Z","receivedAt":"2026-12-05T00:00:00Z"}`
	letter, _ := json.Marshal(map[string]any{"destination": "crm", "reason": "HTTP 4xx", "error": "400", "attempts": 1,
		"topic": "sluice.dest.crm", "partition": 0, "offset": 0, "event": event})
	if err := superuser.ProduceSync(ctx,
		&kgo.Record{Topic: "sluice.keys", Key: key.Key, Value: key.Value},
		&kgo.Record{Topic: "sluice.deadletter", Key: []byte("acme/u1"), Value: shred.Seal(nil, kid, &dek, letter)},
	).FirstErr(); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &adminStack{t: t, ctx: ctx, broker: b, ws: ws, api: "http://" + ln.Addr().String(), errs: make(chan error, 1)}
	runCtx, stop := context.WithCancel(ctx)
	cfg := Config{Cluster: connAs(t, b.Addr(), "sluice-api"), Workspace: ws, Roles: []Role{RoleAPI}, APIListener: ln, AdminToken: adminBootstrap}
	go func() { s.errs <- Run(runCtx, cfg, nil) }()
	defer func() {
		stop()
		if err := <-s.errs; err != nil {
			t.Errorf("the api stopped with %v", err)
		}
	}()
	s.eventually("the api to answer", func() bool { return s.do("GET", "/v1/regulations", adminBootstrap, "").status == 200 })

	if n, _ := sinkLetters(s.listing(adminBootstrap, ""), "crm"); n != 1 {
		t.Fatalf("the api principal lists %d dead letters of crm, want 1", n)
	}
	if rep := s.replay(adminBootstrap, `{"destination":"crm"}`); rep.Replayed != 1 {
		t.Fatalf("the api principal's replay: %+v", rep)
	}
	if _, replayed := sinkLetters(s.listing(adminBootstrap, ""), "crm"); replayed != 1 {
		t.Fatal("the replay's marker is not on the deadletter topic")
	}
}
