package router_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/router"
	"github.com/sluicehq/sluice/topology/topics"
)

// With a keyring the router opens sealed events.raw values and seals every
// output (destinations, dead letters) under the event's own key; an event
// whose key is shredded, unknown, or that is not sealed is dropped, never
// routed and never dead-lettered.
func TestRouterSealsUnderTheEventsKey(t *testing.T) {
	e := newEnv(t)
	kr, err := shred.NewKeyring("k1", shred.KEK{ID: "k1", Secret: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		s   shred.Subject
		id  shred.KeyID
		dek shred.DEK
	}
	newKey := func(user string) key {
		return key{s: shred.Subject{Workspace: "acme", Type: shred.UserID, ID: user}, id: shred.NewKeyID(), dek: shred.NewDEK()}
	}
	u1, u2, u3 := newKey("u1"), newKey("u2"), newKey("u3")
	var keyRecs []*kgo.Record
	for _, k := range []key{u1, u2} {
		r := kr.WrapRecord(k.s, k.id, &k.dek, time.Now())
		keyRecs = append(keyRecs, &kgo.Record{Topic: names.Of(topics.Keys), Key: r.Key, Value: r.Value})
	}
	ts := shred.Tombstone(u2.s, u2.id) // u2 is deleted; u3's key was never written
	keyRecs = append(keyRecs, &kgo.Record{Topic: names.Of(topics.Keys), Key: ts.Key})
	if err := e.cl.ProduceSync(t.Context(), keyRecs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	sealed := func(k key, ev schemas.Event) *kgo.Record {
		return &kgo.Record{Topic: names.Of(topics.Raw), Key: ev.AppendKey(nil), Value: shred.Seal(nil, k.id, &k.dek, ev.AppendRaw(nil))}
	}
	raw := []*kgo.Record{
		sealed(u1, event("u1", "m1", "Clicked", grantAll)),
		sealed(u1, event("u1", "m2", "Clicked", grantAll)),
		{Topic: names.Of(topics.Raw), Key: []byte("acme/u1"), Value: shred.Seal(nil, u1.id, &u1.dek, []byte(`{"type":"track","userId":"u1","properties":{"email":"broken@example.com"`))},
		sealed(u2, event("u2", "m3", "Clicked", grantAll)),
		sealed(u3, event("u3", "m4", "Clicked", grantAll)),
	}
	plain := event("u4", "m5", "Clicked", grantAll)
	raw = append(raw, &kgo.Record{Topic: names.Of(topics.Raw), Key: plain.AppendKey(nil), Value: plain.AppendRaw(nil)})
	if err := e.cl.ProduceSync(t.Context(), raw...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	r, err := router.New(router.Config{Seeds: []string{e.b.Addr()}, Workspace: e.ws, Keyring: kr, MaxPollRecords: 500})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := r.Run(ctx); err != nil {
			t.Errorf("router: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()

	// A reader holding the keys topic opens what the router wrote.
	table := shred.NewTable(kr)
	for _, rec := range keyRecs {
		_ = table.Apply(rec.Key, rec.Value)
	}
	table.MarkCaughtUp()
	got := map[string][]string{} // topic → opened values
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.ConsumeTopics(names.Destination("warehouse"), names.Destination("crm"), names.Destination("stream"), names.Of(topics.DeadLetter), names.Of(topics.Violations)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(time.Minute)
	for len(got[names.Destination("warehouse")]) < 2 || len(got[names.Of(topics.DeadLetter)]) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("gave up; read %v", got)
		}
		pctx, pcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		cl.PollFetches(pctx).EachRecord(func(rec *kgo.Record) {
			if bytes.Contains(rec.Value, []byte("example.com")) || bytes.Contains(rec.Value, []byte("a@b.c")) || !shred.IsSealed(rec.Value) {
				t.Errorf("%s holds a value in clear: %q", rec.Topic, rec.Value)
			}
			out, id, err := table.Open(nil, rec.Value)
			if err != nil {
				t.Errorf("%s: a value that does not open: %v", rec.Topic, err)
				return
			}
			if id != u1.id {
				t.Errorf("%s: sealed under key %v, not the event's (u1's %v)", rec.Topic, id, u1.id)
			}
			got[rec.Topic] = append(got[rec.Topic], string(out))
		})
		pcancel()
	}
	time.Sleep(500 * time.Millisecond) // anything else would arrive now
	pctx, pcancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	cl.PollFetches(pctx).EachRecord(func(rec *kgo.Record) { t.Errorf("%s: an unexpected record", rec.Topic) })
	pcancel()

	for _, v := range got[names.Destination("warehouse")] {
		var ev schemas.Event
		if err := schemas.DecodeRaw([]byte(v), &ev); err != nil || ev.UserID != "u1" {
			t.Errorf("warehouse: %q (%v)", v, err)
		}
	}
	if dl := got[names.Of(topics.DeadLetter)]; len(dl) != 1 || !strings.Contains(dl[0], "undecodable") || !strings.Contains(dl[0], "broken@example.com") {
		t.Errorf("dead letters: %q, want the undecodable u1 value", dl)
	}
}
