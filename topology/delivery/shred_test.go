package delivery_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks/webhook"
	"github.com/sluicehq/sluice/topology/delivery"
	"github.com/sluicehq/sluice/topology/topics"
)

// sealedEnv is env with a keyring, and the users' data keys in the keys topic.
type sealedEnv struct {
	*env
	kr   *shred.Keyring
	keys map[string]shred.KeyID
	deks map[string]shred.DEK
}

func newSealedEnv(t *testing.T, users ...string) *sealedEnv {
	kr, err := shred.NewKeyring("k1", shred.KEK{ID: "k1", Secret: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	e := &sealedEnv{env: newEnv(t), kr: kr, keys: map[string]shred.KeyID{}, deks: map[string]shred.DEK{}}
	for _, u := range users {
		id, dek := shred.NewKeyID(), shred.NewDEK()
		e.keys[u], e.deks[u] = id, dek
		r := kr.WrapRecord(shred.Subject{Workspace: "acme", Type: shred.UserID, ID: u}, id, &dek, time.Now())
		e.produce(t, &kgo.Record{Topic: names.Of(topics.Keys), Key: r.Key, Value: r.Value})
	}
	return e
}

func (e *sealedEnv) produce(t *testing.T, recs ...*kgo.Record) {
	t.Helper()
	if err := e.cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// routeSealed writes events to dest.hook sealed under each user's key, as
// the router would; a user without a key gets a plaintext value.
func (e *sealedEnv) routeSealed(t *testing.T, users ...string) {
	t.Helper()
	for _, u := range users {
		now := time.Now().UTC()
		ev := schemas.Event{Type: schemas.Track, MessageID: "m-" + u, UserID: u, Event: "E", Timestamp: now, ReceivedAt: now,
			Workspace: "acme", Source: "web", Properties: []byte(`{"email":"` + u + `@example.com"}`)}
		v := ev.AppendRaw(nil)
		if dek, ok := e.deks[u]; ok {
			v = shred.Seal(nil, e.keys[u], &dek, v)
		}
		e.produce(t, &kgo.Record{Topic: names.Destination("hook"), Key: ev.AppendKey(nil), Value: v})
	}
}

func (e *sealedEnv) shred(t *testing.T, u string) {
	t.Helper()
	ts := shred.Tombstone(shred.Subject{Workspace: "acme", Type: shred.UserID, ID: u}, e.keys[u])
	e.produce(t, &kgo.Record{Topic: names.Of(topics.Keys), Key: ts.Key})
}

func (e *sealedEnv) start(t *testing.T) {
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
		Seeds: []string{e.b.Addr()}, Workspace: e.ws, Destination: "hook", Sink: sink, Keyring: e.kr,
		RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
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

// The sink gets the events in clear; an event whose key is shredded, before
// delivery or while the destination is down, and a value that is not
// sealed, are never delivered.
func TestSealedEventsDeliveredInClearUnlessShredded(t *testing.T) {
	e := newSealedEnv(t, "u1", "u2", "u3", "u4")
	e.shred(t, "u2")
	e.routeSealed(t, "u1", "u2", "u0") // u0 has no key: its value is plaintext
	e.hook.status.Store(http.StatusServiceUnavailable)
	e.start(t)
	e.routeSealed(t, "u3")
	time.Sleep(200 * time.Millisecond) // a few attempts fail
	e.shred(t, "u3")
	e.hook.status.Store(0)
	e.routeSealed(t, "u4")
	e.hook.waitFor(t, "m-u1", "m-u4")
	time.Sleep(200 * time.Millisecond)
	for _, m := range []string{"m-u0", "m-u2", "m-u3"} {
		if n := e.hook.count(m); n != 0 {
			t.Errorf("delivered %s %d times", m, n)
		}
	}
}

// A dead letter is sealed under its event's key.
func TestDeadLetterSealedUnderTheEventsKey(t *testing.T) {
	e := newSealedEnv(t, "u8")
	e.hook.status.Store(http.StatusBadRequest)
	e.start(t)
	e.routeSealed(t, "u8")
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.ConsumeTopics(names.Of(topics.DeadLetter)),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var dl []byte
	for dl == nil && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { dl = r.Value })
	}
	if bytes.Contains(dl, []byte("example.com")) || bytes.Contains(dl, []byte("m-u8")) {
		t.Fatalf("the dead letter is in clear: %q", dl)
	}
	dek := e.deks["u8"]
	plain, err := shred.Open(nil, &dek, dl)
	if err != nil {
		t.Fatalf("the dead letter does not open with u8's key: %v", err)
	}
	if s := string(plain); !strings.Contains(s, `"destination":"hook"`) || !strings.Contains(s, "u8@example.com") || !strings.Contains(s, "400") {
		t.Fatalf("dead letter %s, want destination hook, the event and the 400", s)
	}
}

// Users whose data keys are created while the engine runs (the api creates
// one just before a user's first event) are delivered: the engine follows
// the keys topic, and catches its table up before it opens a batch.
func TestKeyCreatedWhileRunningOpens(t *testing.T) {
	e := newSealedEnv(t)
	e.start(t)
	var users []string
	for i := range 20 {
		u := "new" + string(rune('a'+i))
		id, dek := shred.NewKeyID(), shred.NewDEK()
		e.keys[u], e.deks[u] = id, dek
		r := e.kr.WrapRecord(shred.Subject{Workspace: "acme", Type: shred.UserID, ID: u}, id, &dek, time.Now())
		now := time.Now().UTC()
		ev := schemas.Event{Type: schemas.Track, MessageID: "m-" + u, UserID: u, Event: "E", Timestamp: now, ReceivedAt: now, Workspace: "acme", Source: "web"}
		e.produce(t, &kgo.Record{Topic: names.Of(topics.Keys), Key: r.Key, Value: r.Value})
		e.produce(t, &kgo.Record{Topic: names.Destination("hook"), Key: ev.AppendKey(nil), Value: shred.Seal(nil, id, &dek, ev.AppendRaw(nil))})
		users = append(users, "m-"+u)
	}
	e.hook.waitFor(t, users...)
}
