package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks/webhook"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/delivery"
	"github.com/sluicehq/sluice/topology/topics"
)

var names = topics.Names{Prefix: "sluice."}

// hook is a webhook destination whose answer the test controls.
type hook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    map[string]int      // messageId → deliveries
	keys   map[string][]string // messageId → Idempotency-Keys it came with, answered or not
	status atomic.Int32        // answer; 0 means 200
	hang   atomic.Bool         // hold every request until the client gives up
	// hangAfterRead records the request's keys, then hangs: delivered, as
	// far as the receiver knows, but never acknowledged.
	hangAfterRead atomic.Bool
}

func newHook(t *testing.T) *hook {
	h := &hook{got: map[string]int{}, keys: map[string][]string{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The body is read first: the server then notices when the client
		// gives up, which ends a hanging request.
		body, _ := io.ReadAll(r.Body)
		if h.hang.Load() {
			<-r.Context().Done()
			return
		}
		var ids struct{ Batch []struct{ MessageID string } }
		_ = json.Unmarshal(body, &ids)
		h.mu.Lock()
		for _, e := range ids.Batch {
			h.keys[e.MessageID] = append(h.keys[e.MessageID], r.Header.Get("Idempotency-Key"))
		}
		h.mu.Unlock()
		if h.hangAfterRead.Load() {
			<-r.Context().Done()
			return
		}
		if s := h.status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		var b struct {
			Batch []struct{ MessageID string }
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Errorf("webhook body: %v", err)
		}
		h.mu.Lock()
		for _, e := range b.Batch {
			h.got[e.MessageID]++
		}
		h.mu.Unlock()
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) count(m string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[m]
}

func (h *hook) waitFor(t *testing.T, ms ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, m := range ms {
		for h.count(m) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("webhook never received %s", m)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

type env struct {
	b    *broker.Broker
	cl   *kgo.Client
	ws   config.Config
	hook *hook
}

func newEnv(t *testing.T) *env {
	t.Helper()
	h := newHook(t)
	ws := config.Config{
		Workspace:    "acme",
		Sources:      []config.Source{{Name: "web", WriteKey: "wk"}},
		Destinations: []config.Destination{{Name: "hook", Type: "webhook", Settings: map[string]any{"url": h.srv.URL, "batchWait": "50ms"}}},
	}.WithDefaults()
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := topics.Ensure(t.Context(), kadm.NewClient(cl), names.All(2, []string{"hook"})); err != nil {
		t.Fatal(err)
	}
	return &env{b: b, cl: cl, ws: ws, hook: h}
}

// route writes events to dest.hook as the router would.
func (e *env) route(t *testing.T, users ...string) {
	t.Helper()
	for _, u := range users {
		now := time.Now().UTC()
		ev := schemas.Event{Type: schemas.Track, MessageID: "m-" + u, UserID: u, Event: "E", Timestamp: now, ReceivedAt: now, Workspace: "acme", Source: "web"}
		if err := e.cl.ProduceSync(t.Context(), &kgo.Record{Topic: names.Destination("hook"), Key: ev.AppendKey(nil), Value: ev.AppendRaw(nil)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) suppress(t *testing.T, user string) {
	t.Helper()
	key, _ := suppress.Key("acme", suppress.UserID, user)
	val, _ := suppress.EncodeRecord(suppress.Record{RegulationID: "r", SubjectType: suppress.UserID, SubjectID: user, At: time.Now()})
	if err := e.cl.ProduceSync(t.Context(), &kgo.Record{Topic: names.Of(topics.Suppressions), Key: key, Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) start(t *testing.T) {
	t.Helper()
	wcfg, err := webhook.FromSettings("hook", e.ws.Destinations[0].Settings)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := webhook.Open(wcfg)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := delivery.New(delivery.Config{
		Seeds: []string{e.b.Addr()}, Workspace: e.ws, Destination: "hook", Sink: sink,
		RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond, Logger: testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := eng.Run(ctx); err != nil {
			t.Errorf("engine: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// Events routed before a suppression existed are dropped at delivery once it
// is acknowledged; the others are delivered and their offsets committed.
func TestSuppressionRecheckedAtDelivery(t *testing.T) {
	e := newEnv(t)
	e.route(t, "u1", "u2", "u3")
	e.suppress(t, "u2")
	e.start(t)
	e.hook.waitFor(t, "m-u1", "m-u3")
	e.route(t, "u4")
	e.hook.waitFor(t, "m-u4")
	if n := e.hook.count("m-u2"); n != 0 {
		t.Fatalf("delivered m-u2 of a suppressed user %d times", n)
	}
}

// While the destination is down the engine retries; a suppression filed
// during the outage holds for the events waiting to be retried.
func TestSuppressionDuringOutageHolds(t *testing.T) {
	e := newEnv(t)
	e.hook.status.Store(http.StatusServiceUnavailable)
	e.start(t)
	e.route(t, "u5", "u6")
	time.Sleep(200 * time.Millisecond) // let a few attempts fail
	e.suppress(t, "u5")
	e.hook.status.Store(0)
	e.hook.waitFor(t, "m-u6")
	e.route(t, "u7")
	e.hook.waitFor(t, "m-u7")
	if n := e.hook.count("m-u5"); n != 0 {
		t.Fatalf("delivered m-u5 after its suppression was acknowledged")
	}
}

// A permanent refusal sends the events to the dead-letter topic with the
// destination and the error, and delivery goes on.
func TestPermanentFailureDeadLetters(t *testing.T) {
	e := newEnv(t)
	e.hook.status.Store(http.StatusBadRequest)
	e.start(t)
	e.route(t, "u8")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.ConsumeTopics(names.Of(topics.DeadLetter)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var dl string
	for dl == "" && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { dl = string(r.Value) })
	}
	if !strings.Contains(dl, `"destination":"hook"`) || !strings.Contains(dl, "m-u8") || !strings.Contains(dl, "400") {
		t.Fatalf("dead letter %q, want destination hook, the event and the 400", dl)
	}
	e.hook.status.Store(0)
	e.route(t, "u9")
	e.hook.waitFor(t, "m-u9")
}

// testLogger writes the engine's logs to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}
