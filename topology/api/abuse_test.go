package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

const floodKey = "wk_flood_50"

// withFloodSource adds the source of the security review's finding 3: a
// write key (public: browsers send it) with rateLimit 50.
func withFloodSource(c *Config) {
	c.Workspace.Sources = append(c.Workspace.Sources, config.Source{Name: "flood", WriteKey: floodKey, RateLimit: 50})
}

// flood sends n requests with body to path as writeKey, interleaving
// a good event of the app source every 100 requests, which must be served.
func (e *env) flood(n int, path, writeKey, body string) map[int]int {
	e.t.Helper()
	got := map[int]int{}
	for i := range n {
		got[e.post(path, writeKey, []byte(body)).status]++
		if i%100 == 0 {
			if r := e.post("/v1/track", appKey, []byte(`{"userId":"u-good","event":"Good"}`)); r.status != 200 {
				e.t.Fatalf("good traffic of another source during the flood: %d %s", r.status, r.raw)
			}
		}
	}
	return got
}

// Finding 3 of the security review: with rateLimit 50, 1,000 invalid
// requests were 1,000 × 400 and 1,000 dead letters; 5,000 more of a source
// without a rate limit wrote 5,000 more. Refused input now spends the
// source's budget (429 once it is overdrawn, no dead letter) and dead
// letters are sampled per source, the rest counted as dropped.
func TestFloodOfBadInputIsRateLimitedAndSampled(t *testing.T) {
	e := newEnv(t, withFloodSource)
	bad := `{"userId":"u"}` // a track without "event": 400 missing_field

	began := time.Now()
	floodAnswers := e.flood(1000, "/v1/track", floodKey, bad)
	got := floodAnswers
	elapsed := time.Since(began).Seconds()
	// The budget: one second of events, refilled at 50 per second.
	budget := 50 + 50*elapsed + 1
	t.Logf("1,000 invalid requests with rateLimit 50 in %.1fs: %v", elapsed, got)
	if got[429] == 0 || float64(got[400]) > budget || got[400]+got[429] != 1000 {
		t.Fatalf("answers %v, want at most %.0f × 400 and the rest 429", got, budget)
	}

	// A source without a rate limit: every request is answered 400, but
	// its dead letters are sampled at the default 10 per second.
	began = time.Now()
	got = e.flood(5000, "/v1/track", webKey, bad)
	elapsed += time.Since(began).Seconds()
	t.Logf("5,000 invalid requests without a rate limit: %v", got)
	if got[400] != 5000 {
		t.Fatalf("answers %v, want 5,000 × 400", got)
	}

	var written, floodDLs, webDLs int
	for _, rec := range e.recordsBeforeSentinel(e.names.Of(topics.DeadLetter)) {
		written++
		switch decodeValue(t, rec)["source"] {
		case "flood":
			floodDLs++
		case "web":
			webDLs++
		}
	}
	dlBudget := config.DefaultDeadLettersPerSecond*(1+elapsed) + 1
	t.Logf("dead letters written: flood %d, web %d (bound %.0f each, %.1fs in all)", floodDLs, webDLs, dlBudget, elapsed)
	if floodDLs == 0 || webDLs == 0 || float64(floodDLs) > dlBudget || float64(webDLs) > dlBudget || written != floodDLs+webDLs {
		t.Fatalf("dead letters: flood %d, web %d, %d in all; want 1..%.0f each", floodDLs, webDLs, written, dlBudget)
	}
	droppedWeb := e.metric("sluice_api_deadletters_dropped_total", map[string]string{"source": "web", "reason": "missing_field"})
	droppedFlood := e.metric("sluice_api_deadletters_dropped_total", map[string]string{"source": "flood", "reason": "missing_field"})
	if int(droppedWeb) != 5000-webDLs || int(droppedFlood) != floodAnswers[400]-floodDLs {
		t.Errorf("dropped: web %v (want %d), flood %v", droppedWeb, 5000-webDLs, droppedFlood)
	}
	if e.metric("sluice_api_events_accepted_total", map[string]string{"source": "app"}) != 60 {
		t.Errorf("the app source's good events were not all accepted")
	}
}

// A batch whose items are all refused costs its items: the next request of
// a source with rateLimit 1 is answered 429 (it used to be free).
func TestRefusedItemsSpendTheRate(t *testing.T) {
	e := newEnv(t)
	batch := []byte(`{"batch":[` + strings.Repeat(`{"type":"track","userId":"u"},`, 9) + `{"type":"track","userId":"u"}]}`)
	if r := e.post("/v1/batch", slowKey, batch); r.status != 200 || len(r.body["refused"].([]any)) != 10 {
		t.Fatalf("first batch: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/track", slowKey, []byte(`{"userId":"u","event":"e"}`)); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 10 refused items at 1 event/s: %d %s, want 429", r.status, r.raw)
	}
	// A write key in the body is charged the same way.
	if r := e.post("/v1/track", "", []byte(`{"writeKey":"`+slowKey+`","userId":"u"}`)); r.status != 429 {
		t.Fatalf("with the key in the body: %d %s, want 429", r.status, r.raw)
	}
}

// Requests without a valid write key write no dead letter; they are
// charged to the client's network, answered 401 within its budget and 429
// past it, before any body is read. A valid write key in the header is
// never held back by it.
func TestStrangersAreChargedToTheirNetwork(t *testing.T) {
	e := newEnv(t)
	began := time.Now()
	got := map[int]int{}
	for i := range 60 {
		key := "wk_guess_" + fmt.Sprint(i)
		got[e.post("/v1/track", key, []byte(`{"userId":"u","event":"e"}`)).status]++
		got[e.post("/v1/track", "", []byte(`{"writeKey":"`+key+`","userId":"u"}`)).status]++
		got[e.post("/v1/track", "", []byte(`{"userId":"u"}`)).status]++
	}
	budget := DefaultStrangerRate*(1+time.Since(began).Seconds()) + 1
	t.Logf("180 requests with unknown or missing write keys: %v", got)
	if got[429] == 0 || float64(got[401]) > budget || got[401]+got[429] != 180 {
		t.Fatalf("answers %v, want at most %.0f × 401, the rest 429", got, budget)
	}
	if r := e.post("/v1/track", webKey, []byte(`{"userId":"u","event":"e"}`)); r.status != 200 {
		t.Fatalf("a valid write key from the same network: %d %s", r.status, r.raw)
	}
	if n := e.metric("sluice_api_deadletters_total", nil); n != 0 {
		t.Fatalf("%v dead letters of strangers", n)
	}
}

// Issue 13: the dead letter of a refused batch item names its messageId.
func TestRefusedItemDeadLetterNamesMessageID(t *testing.T) {
	e := newEnv(t)
	r := e.post("/v1/batch", webKey, []byte(`{"batch":[{"type":"track","userId":"u","event":"ok"},`+
		`{"type":"track","messageId":"m-refused-1","userId":"u"},{"type":"track","userId":"u"}]}`))
	if r.status != 200 || len(r.body["refused"].([]any)) != 2 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	dls := e.records(e.names.Of(topics.DeadLetter), 2)
	first, second := decodeValue(t, dls[0]), decodeValue(t, dls[1])
	if first["messageId"] != "m-refused-1" || first["index"] != float64(1) || first["code"] != "missing_field" || first["reason"] == "" {
		t.Errorf("dead letter of item 1: %v", first)
	}
	if _, has := second["messageId"]; has || second["index"] != float64(2) {
		t.Errorf("dead letter of item 2 (no messageId sent): %v", second)
	}
}

// Finding 6: 2,000 connections trickling a body were all still open after
// 20s. Connections are capped (the rest wait in the accept queue), a body
// not read within ReadTimeout is cut off, and a normal client is served.
func TestTricklingConnectionsAreCappedAndCut(t *testing.T) {
	const maxConns, tricklers = 20, 60
	e := newEnv(t, func(c *Config) { c.MaxConnections, c.ReadTimeout = maxConns, time.Second })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- e.server.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
	})

	// Sample the open connections while the tricklers run.
	var most atomic.Int64
	sampling, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			most.Store(max(most.Load(), int64(e.metric("sluice_api_connections", nil))))
			select {
			case <-sampling:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(webKey+":"))
	head := "POST /v1/track HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nAuthorization: " + auth +
		"\r\nContent-Length: 100000\r\n\r\n{"
	var wg sync.WaitGroup
	cut := make(chan string, tricklers)
	for range tricklers {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Read until the server closes the connection.
			answer, _ := io.ReadAll(conn)
			first, _, _ := strings.Cut(string(answer), "\r\n")
			cut <- first
		}()
		go func() {
			if _, err := conn.Write([]byte(head)); err != nil {
				return
			}
			for {
				time.Sleep(100 * time.Millisecond)
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
	}

	// A normal client, sent while every slot is taken, is served.
	client := &http.Client{Timeout: time.Minute}
	req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+"/v1/track", bytes.NewReader([]byte(`{"userId":"u","event":"normal"}`)))
	req.Header.Set("Authorization", auth)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("a normal client: %v", err)
	}
	resp.Body.Close()
	client.CloseIdleConnections()
	if resp.StatusCode != 200 {
		t.Fatalf("a normal client: %d", resp.StatusCode)
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%d of %d trickling connections still open after a minute", tricklers-len(cut), tricklers)
	}
	close(sampling)
	<-sampled
	answers := map[string]int{}
	for range tricklers {
		answers[<-cut]++
	}
	t.Logf("%d trickling connections, cap %d: at most %d open at once; their answers %v", tricklers, maxConns, most.Load(), answers)
	if most.Load() > maxConns || most.Load() < maxConns/2 {
		t.Errorf("at most %d connections open at once, want the cap %d reached and never passed", most.Load(), maxConns)
	}
	if answers["HTTP/1.1 400 Bad Request"] != tricklers {
		t.Errorf("trickling connections answered %v, want each a 400 (body not read in time)", answers)
	}
}

// guardFunc is an AdminGuard that lets everything through to h.
type guardFunc func(w http.ResponseWriter, r *http.Request, h http.Handler)

func (g guardFunc) Wrap(_, _ string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g(w, r, h) })
}

// An admin request's context carries the client the guard records: the
// peer, or behind a trusted proxy the address it forwarded and the proxy.
// X-Forwarded-For from an untrusted peer is not believed.
func TestAdminRequestsCarryTheirClient(t *testing.T) {
	for _, tc := range []struct {
		trusted  []netip.Prefix
		wantAddr string // "peer": the connection's peer
		wantVia  bool
	}{
		{nil, "peer", false},
		{[]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "203.0.113.7", true},
	} {
		var got Client
		e := newEnv(t, func(c *Config) {
			c.TrustedProxies = tc.trusted
			c.AdminGuard = guardFunc(func(w http.ResponseWriter, r *http.Request, h http.Handler) {
				got, _ = ClientOf(r.Context())
				h.ServeHTTP(w, r)
			})
			c.Admin = []Route{{Pattern: "GET /v1/who", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}}
		})
		req, _ := http.NewRequest("GET", e.http.URL+"/v1/who", nil)
		req.Header.Set("X-Forwarded-For", "198.51.100.9, 203.0.113.7")
		if r := e.do(req); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.raw)
		}
		peer := strings.HasPrefix(got.Addr, "127.0.0.1:")
		if (tc.wantAddr == "peer") != peer || (!peer && got.Addr != tc.wantAddr) || (got.Via != "") != tc.wantVia {
			t.Errorf("trusted %v: client %+v, want %s (via a proxy: %v)", tc.trusted, got, tc.wantAddr, tc.wantVia)
		}
	}
}

// Without a bootstrap token the admin routes need an AdminGuard: the
// token check alone would take an empty bearer token.
func TestAdminTokenOptionalOnlyWithAGuard(t *testing.T) {
	e := newEnv(t)
	routes := []Route{{Pattern: "GET /v1/x", Handler: http.NotFoundHandler()}}
	if err := (Config{Workspace: config.Config{}, Producer: e.producer, Admin: routes}).Validate(); err == nil {
		t.Error("admin routes without a token or a guard were accepted")
	}
	guard := guardFunc(func(w http.ResponseWriter, r *http.Request, h http.Handler) { h.ServeHTTP(w, r) })
	if err := (Config{Workspace: config.Config{}, Producer: e.producer, Admin: routes, AdminGuard: guard}).Validate(); err != nil {
		t.Errorf("a guard without a bootstrap token: %v", err)
	}
}
