package regulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/testenv/broker"
)

// webhookDeleter posts a delete request to a deleteUrl, as sinks/webhook's
// Deleter does: 2xx is done, anything else a *sinks.StatusError, which
// sinks.Classify classifies (4xx permanent, 5xx retried).
type webhookDeleter struct{ url string }

func (d webhookDeleter) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	body, _ := json.Marshal(map[string]any{"workspace": req.Workspace, "userIds": req.UserIDs, "anonymousIds": req.AnonymousIDs})
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return sinks.Receipt{}, err
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return sinks.Receipt{}, err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return sinks.Receipt{}, &sinks.StatusError{Code: resp.StatusCode}
	}
	return sinks.Receipt{HTTPStatus: resp.StatusCode, Finished: time.Now().UTC()}, nil
}

// deleteServer is an httptest deleteUrl that records what it was asked.
type deleteServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls []map[string]any
	// answer decides the status of call n (1-based); default 200.
	answer func(n int, r *http.Request) int
}

func newDeleteServer(t testing.TB) *deleteServer {
	d := &deleteServer{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		d.mu.Lock()
		d.calls = append(d.calls, body)
		n, answer := len(d.calls), d.answer
		d.mu.Unlock()
		code := http.StatusOK
		if answer != nil {
			code = answer(n, r)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *deleteServer) Calls() []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

// countingDeleter counts Delete calls.
type countingDeleter struct {
	sinks.Deleter
	n atomic.Int64
}

func (c *countingDeleter) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	c.n.Add(1)
	return c.Deleter.Delete(ctx, req)
}

// produceRecords writes records and fails the test unless all are acknowledged.
func produceRecords(t testing.TB, b *broker.Broker, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// seedTopics links anonymousId anon to user and gives user a profile and
// consent, as the router would.
func seedTopics(t testing.TB, b *broker.Broker, user, anon string) {
	t.Helper()
	lk, _ := suppress.LinkKey(testWorkspace, anon)
	lv, _ := suppress.EncodeLink(suppress.Link{UserID: user, At: time.Now()})
	ck, _ := consent.Key(testWorkspace, consent.UserID, user)
	cv, _ := consent.EncodeRecord(consent.Record{CategoryPreferences: map[string]bool{"analytics": true}})
	produceRecords(t, b,
		&kgo.Record{Topic: "sluice.identities", Key: lk, Value: lv},
		&kgo.Record{Topic: "sluice.profiles", Key: []byte(testWorkspace + "/" + user), Value: []byte(`{"traits":{"email":"x@example.com"}}`)},
		&kgo.Record{Topic: "sluice.consent", Key: ck, Value: cv},
	)
}

type env struct {
	b     *broker.Broker
	conn  driver.Conn
	db    string
	wh    *countingDeleter
	hooks *deleteServer
	cfg   Config
}

// newEnv: a broker with every topic, a ClickHouse database with rows of
// u1…u6 (u1 also through anonymousId a1), and destinations warehouse
// (internal, the Warehouse) and crm (a webhook deleteUrl).
func newEnv(t testing.TB, whAddr func(chAddr string) string) *env {
	b, _ := newBroker(t, "warehouse", "crm")
	srv, conn, db := newWarehouse(t)
	insertRows(t, conn, []string{"u1", "u2", "u3", "u4", "u5", "u6"}, 3, map[string]string{"a1": "u1"})
	addr := srv.Addr()
	if whAddr != nil {
		addr = whAddr(addr)
	}
	wh := openWarehouse(t, addr, db)
	e := &env{b: b, conn: conn, db: db, wh: &countingDeleter{Deleter: wh}, hooks: newDeleteServer(t)}
	e.cfg = Config{
		Warehouse: wh,
		Destinations: []Destination{
			{Name: "warehouse", Internal: true, Deleter: e.wh},
			{Name: "crm", Deleter: webhookDeleter{url: e.hooks.URL}},
		},
	}
	seedTopics(t, b, "u1", "a1")
	return e
}

func (e *env) file(t testing.TB, s *Service, typ Type, ids ...string) string {
	t.Helper()
	id, _, err := s.Create(t.Context(), Body{RegulationType: typ, SubjectType: UserID, SubjectIDs: ids}, "")
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestDeleteRegulationsAgainstClickHouseBatched(t *testing.T) {
	e := newEnv(t, nil)
	s := openService(t, e.b, e.cfg)
	// Three regulations filed before the regulator starts form one batch.
	r1 := e.file(t, s, SuppressWithDelete, "u1", "u2")
	r2 := e.file(t, s, DeleteOnly, "u3")
	r3 := e.file(t, s, SuppressWithDeleteInternal, "u4")
	runRegulator(t, s)
	for _, id := range []string{r1, r2, r3} {
		if r := waitFor(t, s, id, terminal); r.OverallStatus != Finished {
			t.Fatalf("%s: %s: %+v", id, r.OverallStatus, r)
		}
	}

	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		for _, tb := range []string{"tracks", "pages", "users"} {
			if n := rowsOf(t, e.conn, tb, "user_id", u); n != 0 {
				t.Errorf("%s: %d rows of deleted %s", tb, n, u)
			}
		}
	}
	if n := rowsOf(t, e.conn, "tracks", "anonymous_id", "a1"); n != 0 {
		t.Errorf("%d rows of a1, linked to deleted u1", n)
	}
	for _, u := range []string{"u5", "u6"} {
		if n := rowsOf(t, e.conn, "tracks", "user_id", u); n != 3 {
			t.Errorf("untouched %s has %d tracks, want 3", u, n)
		}
	}

	// One delete call per destination for the whole batch.
	if n := e.wh.n.Load(); n != 1 {
		t.Errorf("warehouse Delete called %d times, want 1", n)
	}
	calls := e.hooks.Calls()
	if len(calls) != 1 {
		t.Fatalf("deleteUrl called %d times, want 1: %v", len(calls), calls)
	}
	// u4's regulation is *_INTERNAL: not forwarded.
	if got := fmt.Sprint(calls[0]["userIds"], calls[0]["anonymousIds"]); got != "[u1 u2 u3] [a1]" {
		t.Errorf("deleteUrl got %s, want [u1 u2 u3] [a1]", got)
	}

	r, _, _ := s.Get(t.Context(), r1)
	ck := r.step(StepClickHouse).Receipt
	// u1: 3 tracks, 1 page, 1 user, and a1's track; u2: 3+1+1.
	if *ck.RowsBefore != 11 || *ck.RowsAfter != 0 {
		t.Errorf("clickhouse receipt %d → %d rows, want 11 → 0: %+v", *ck.RowsBefore, *ck.RowsAfter, ck.Tables)
	}
	if crm := r.destination("crm"); crm.Status != Finished || crm.Receipt.HTTPStatus != 200 || crm.Receipt.Batch.Regulations != 2 {
		t.Errorf("crm = %+v", crm)
	}
	if wh := r.destination("warehouse"); wh.Status != Finished || wh.Receipt == nil || len(wh.Receipt.Statements) == 0 {
		t.Errorf("warehouse = %+v", wh)
	}
	if r4, _, _ := s.Get(t.Context(), r3); r4.destination("crm").Status != NotSupported {
		t.Errorf("internal regulation's crm = %+v", r4.destination("crm"))
	}

	// Tombstones in the compacted per-user topics; a1 stays suppressed on
	// u1's behalf although its link is gone.
	for topic, key := range map[string]string{
		"sluice.profiles":   "acme/u1",
		"sluice.consent":    "acme/USER_ID/u1",
		"sluice.identities": "acme/a1",
	} {
		if rec := latestRecords(t, e.b.Addr(), topic)[key]; rec == nil || rec.Value != nil {
			t.Errorf("%s %s: want a tombstone, got %v", topic, key, rec)
		}
	}
	sup := latestRecords(t, e.b.Addr(), "sluice.suppressions")["acme/ANONYMOUS_ID/a1"]
	if sup == nil || !strings.Contains(string(sup.Value), `"linkedUserId":"u1"`) {
		t.Errorf("a1's suppression: %v", sup)
	}
}

func TestDeleteInternalDoesNotForward(t *testing.T) {
	e := newEnv(t, nil)
	s := openService(t, e.b, e.cfg)
	runRegulator(t, s)
	id := e.file(t, s, DeleteInternal, "u2")
	r := waitFor(t, s, id, terminal)
	if r.OverallStatus != Finished {
		t.Fatalf("status %s: %+v", r.OverallStatus, r)
	}
	if n := len(e.hooks.Calls()); n != 0 {
		t.Fatalf("deleteUrl called %d times for DELETE_INTERNAL", n)
	}
	if d := r.destination("crm"); d.Status != NotSupported || !strings.Contains(d.Error, "not forwarded") {
		t.Fatalf("crm = %+v", d)
	}
	if n := rowsOf(t, e.conn, "tracks", "user_id", "u2"); n != 0 {
		t.Fatalf("%d tracks of u2 left", n)
	}
}

func TestWebhookFailuresAreRetriedThenPermanent(t *testing.T) {
	e := newEnv(t, nil)
	e.hooks.answer = func(n int, _ *http.Request) int {
		if n < 3 {
			return http.StatusBadGateway // retried
		}
		return http.StatusOK
	}
	s := openService(t, e.b, e.cfg)
	runRegulator(t, s)
	r := waitFor(t, s, e.file(t, s, DeleteOnly, "u5"), terminal)
	if r.OverallStatus != Finished || r.destination("crm").Attempts != 2 || len(e.hooks.Calls()) != 3 {
		t.Fatalf("after two 502s: %s, crm %+v, %d calls", r.OverallStatus, r.destination("crm"), len(e.hooks.Calls()))
	}

	e.hooks.answer = func(int, *http.Request) int { return http.StatusForbidden }
	r = waitFor(t, s, e.file(t, s, DeleteOnly, "u6"), terminal)
	if r.OverallStatus != PartialSuccess || r.destination("crm").Status != Failed || r.destination("warehouse").Status != Finished {
		t.Fatalf("after a 403: %s, %+v", r.OverallStatus, r.Destinations)
	}
}

func TestClickHouseUnavailableIsRetried(t *testing.T) {
	var px *proxy
	e := newEnv(t, func(addr string) string {
		px = newProxy(t, addr)
		return px.addr
	})
	px.Down()
	s := openService(t, e.b, e.cfg)
	runRegulator(t, s)
	id := e.file(t, s, SuppressWithDelete, "u3")
	// It fails, counts attempts, and keeps the regulation RUNNING.
	r := waitFor(t, s, id, func(r *Regulation) bool { return r.Attempts >= 2 })
	if r.OverallStatus != Running || r.step(StepClickHouse).Error == "" {
		t.Fatalf("while ClickHouse is down: %+v", r)
	}
	if n := rowsOf(t, e.conn, "tracks", "user_id", "u3"); n != 3 {
		t.Fatalf("u3 has %d tracks during the outage", n)
	}
	px.Up()
	r = waitFor(t, s, id, terminal)
	if r.OverallStatus != Finished {
		t.Fatalf("after ClickHouse returned: %+v", r)
	}
	if n := rowsOf(t, e.conn, "tracks", "user_id", "u3"); n != 0 {
		t.Fatalf("u3 has %d tracks after FINISHED", n)
	}
}

func TestRegulatorKilledHalfWayResumes(t *testing.T) {
	e := newEnv(t, nil)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	e.hooks.answer = func(n int, r *http.Request) int {
		if n == 1 {
			arrived <- struct{}{}
			select { // hang until the regulator is killed
			case <-release:
			case <-r.Context().Done():
			}
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	}
	defer close(release)
	first := openService(t, e.b, e.cfg)
	stop := runRegulator(t, first)
	id := e.file(t, first, SuppressWithDelete, "u1")
	<-arrived // the warehouse is done, the deleteUrl call in flight
	stop()
	first.Close()

	mid, _, _ := openService(t, e.b, Config{}).Get(t.Context(), id)
	if mid.destination("warehouse").Status != Finished || mid.destination("crm").Status.Terminal() || mid.OverallStatus != Running {
		t.Fatalf("after the kill: %s %+v", mid.OverallStatus, mid.Destinations)
	}

	second := openService(t, e.b, e.cfg)
	runRegulator(t, second)
	r := waitFor(t, second, id, terminal)
	if r.OverallStatus != Finished {
		t.Fatalf("resumed: %+v", r)
	}
	// Done steps were not repeated; the interrupted call was.
	if n := e.wh.n.Load(); n != 1 {
		t.Errorf("warehouse Delete called %d times, want 1", n)
	}
	if n := len(e.hooks.Calls()); n != 2 {
		t.Errorf("deleteUrl called %d times, want 2", n)
	}
	if got := r.step(StepTopics).Receipt; got == nil || got.Records == 0 {
		t.Errorf("topics receipt %+v", got)
	}
	if n := rowsOf(t, e.conn, "tracks", "anonymous_id", "a1"); n != 0 {
		t.Errorf("%d rows of a1 after resuming", n)
	}
	// The receipt keeps the count taken before the deletion, not the zero a
	// recount after the kill would find: u1's 3 tracks, page and user, and
	// a1's track.
	if ck := r.step(StepClickHouse).Receipt; ck == nil || *ck.RowsBefore != 6 || *ck.RowsAfter != 0 {
		t.Errorf("clickhouse receipt after the kill: %+v", ck)
	}
}

func TestTwoRegulatorsShareTheWork(t *testing.T) {
	e := newEnv(t, nil)
	a := openService(t, e.b, e.cfg)
	bsvc := openService(t, e.b, e.cfg)
	runRegulator(t, a)
	runRegulator(t, bsvc)
	// Wait until the group has split the partitions between the two.
	deadline := time.Now().Add(time.Minute)
	for {
		oa, ob := a.running.Load(), bsvc.running.Load()
		if oa != nil && ob != nil {
			na, nb := oa.count(), ob.count()
			if na > 0 && nb > 0 && na+nb == 3 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the two regulators never shared the partitions")
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ids []string
	for _, u := range []string{"u2", "u3", "u4", "u5", "u6"} {
		ids = append(ids, e.file(t, a, DeleteOnly, u))
	}
	for _, id := range ids {
		if r := waitFor(t, bsvc, id, terminal); r.OverallStatus != Finished {
			t.Fatalf("%s: %+v", id, r)
		}
	}
	// Each subject reached the deleteUrl exactly once: no regulation was
	// carried out by both regulators.
	seen := map[string]int{}
	for _, c := range e.hooks.Calls() {
		for _, u := range c["userIds"].([]any) {
			seen[u.(string)]++
		}
	}
	for _, u := range []string{"u2", "u3", "u4", "u5", "u6"} {
		if seen[u] != 1 {
			t.Errorf("%s forwarded %d times", u, seen[u])
		}
	}
}

func TestDamagedRegulationIsInvalid(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{})
	runRegulator(t, s)
	// A record no API would have written: an empty subject id.
	bad := &Regulation{ID: "rg_damaged", Workspace: testWorkspace, OverallStatus: Initialized, CreatedAt: time.Now().UTC(),
		Request: Request{RegulationType: DeleteOnly, SubjectType: UserID, SubjectIDs: []string{"u1", ""}},
		Steps:   []Step{{Name: StepInFlight, Status: Initialized}, {Name: StepTopics, Status: Initialized}}}
	// Another workspace's regulation is not this regulator's to carry out.
	other := &Regulation{ID: "rg_other", Workspace: "globex", OverallStatus: Initialized, CreatedAt: time.Now().UTC(),
		Request: Request{RegulationType: DeleteOnly, SubjectType: UserID, SubjectIDs: []string{"u1"}},
		Steps:   []Step{{Name: StepInFlight, Status: Initialized}}}
	for _, g := range []*Regulation{other, bad} {
		if err := s.store.put(t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	r := waitFor(t, s, "rg_damaged", terminal)
	if r.OverallStatus != Invalid || !strings.Contains(r.step(StepInFlight).Error, "subjectIds[1]") {
		t.Fatalf("damaged regulation: %+v", r)
	}
	if _, found, _ := s.Get(t.Context(), "rg_other"); found {
		t.Fatal("another workspace's regulation is visible")
	}
	if g, _ := s.store.get("rg_other"); g.OverallStatus != Initialized {
		t.Fatalf("another workspace's regulation was touched: %+v", g)
	}
}
