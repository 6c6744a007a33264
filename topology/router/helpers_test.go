package router_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/router"
	"github.com/sluicehq/sluice/topology/topics"
)

// workspaceYAML is DESIGN's config shape: two mapped destinations and one unmapped.
const workspaceYAML = `
workspace: acme
sources:
  - name: web
    writeKey: wk_web_123
consent:
  categories: [analytics, advertising]
  whenMissing: deny
destinations:
  - name: warehouse
    type: clickhouse
    categories: [analytics]
    settings: {database: sluice}
  - name: crm
    type: webhook
    categories: [advertising]
    settings: {url: "http://127.0.0.1:9999/events"}
    filters:
      - drop: 'event == "Internal Test"'
      - dropProperties: [email, phone]
  - name: stream
    type: kafka
    settings: {topic: analytics.events}
`

var names = topics.Names{Prefix: "sluice."}

type env struct {
	b   *broker.Broker
	cl  *kgo.Client
	ws  config.Config
	dst []string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ws, err := config.Parse([]byte(workspaceYAML))
	if err != nil {
		t.Fatal(err)
	}
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	dests := []string{"warehouse", "crm", "stream"}
	if err := topics.Ensure(t.Context(), kadm.NewClient(cl), names.All(3, dests)); err != nil {
		t.Fatal(err)
	}
	return &env{b: b, cl: cl, ws: ws, dst: dests}
}

// event builds a raw event of user u with the given messageId.
func event(u, messageID, name string, context string) schemas.Event {
	now := time.Now().UTC()
	e := schemas.Event{
		Type: schemas.Track, MessageID: messageID, UserID: u, Event: name,
		Timestamp: now, ReceivedAt: now, Workspace: "acme", Source: "web",
		Properties: []byte(`{"plan":"pro","email":"a@b.c"}`),
	}
	if context != "" {
		e.Context = []byte(context)
	}
	return e
}

const grantAll = `{"consent":{"categoryPreferences":{"analytics":true,"advertising":true}}}`

func (e *env) produce(t *testing.T, evs ...schemas.Event) {
	t.Helper()
	recs := make([]*kgo.Record, len(evs))
	for i := range evs {
		recs[i] = &kgo.Record{Topic: names.Of(topics.Raw), Key: evs[i].AppendKey(nil), Value: evs[i].AppendRaw(nil)}
	}
	if err := e.cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) suppress(t *testing.T, typ suppress.SubjectType, id string) {
	t.Helper()
	key, err := suppress.Key("acme", typ, id)
	if err != nil {
		t.Fatal(err)
	}
	val, _ := suppress.EncodeRecord(suppress.Record{RegulationID: "r-test", SubjectType: typ, SubjectID: id, At: time.Now()})
	if err := e.cl.ProduceSync(t.Context(), &kgo.Record{Topic: names.Of(topics.Suppressions), Key: key, Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// startRouter runs a router until the returned stop is called.
func (e *env) startRouter(t *testing.T, opts ...kgo.Opt) (stop func()) {
	t.Helper()
	r, err := router.New(router.Config{Seeds: []string{e.b.Addr()}, Workspace: e.ws, ClientOpts: opts, MaxPollRecords: 500})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.Run(ctx); err != nil {
			t.Errorf("router: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// delivered is what one destination topic holds, read committed.
type delivered struct {
	byMessage map[string]int
	byUser    map[string][]string // userId → messageIds in offset order
	values    map[string]string   // messageId → value
}

// readDest reads every committed record of dest topics until each holds at
// least want[dest] records (or the deadline passes, and then a bit more to
// catch duplicates).
func (e *env) readDest(t *testing.T, want map[string]int) map[string]*delivered {
	t.Helper()
	out := map[string]*delivered{}
	for _, d := range e.dst {
		out[d] = &delivered{byMessage: map[string]int{}, byUser: map[string][]string{}, values: map[string]string{}}
	}
	var ts []string
	for _, d := range e.dst {
		ts = append(ts, names.Destination(d))
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.ConsumeTopics(ts...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	deadline := time.Now().Add(60 * time.Second)
	total := func(d string) int {
		n := 0
		for _, c := range out[d].byMessage {
			n += c
		}
		return n
	}
	satisfied := func() bool {
		for d, n := range want {
			if total(d) < n {
				return false
			}
		}
		return true
	}
	settle := time.Time{}
	for {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			d := strings.TrimPrefix(r.Topic, "sluice.dest.")
			var ev schemas.Event
			if err := schemas.DecodeRaw(r.Value, &ev); err != nil {
				t.Errorf("%s holds an undecodable record: %v", r.Topic, err)
				return
			}
			if h, ok := topics.MessageHashOf(r.Headers); !ok || h != topics.MessageHash(ev.Workspace, ev.MessageID) {
				t.Errorf("%s record of %s lacks the messageId hash header (%x, %v)", r.Topic, ev.MessageID, h, ok)
			}
			out[d].byMessage[ev.MessageID]++
			out[d].byUser[ev.UserID] = append(out[d].byUser[ev.UserID], ev.MessageID)
			out[d].values[ev.MessageID] = string(r.Value)
		})
		if satisfied() && settle.IsZero() {
			settle = time.Now().Add(time.Second) // look a little longer for duplicates
		}
		if !settle.IsZero() && time.Now().After(settle) {
			return out
		}
		if time.Now().After(deadline) {
			for d, n := range want {
				t.Errorf("%s holds %d records, want at least %d", d, total(d), n)
			}
			t.FailNow()
		}
	}
}

// latest reads a compacted topic, read committed, to its end and returns
// each key's latest value (nil for a tombstone).
func (e *env) latest(t *testing.T, topic string) map[string][]byte {
	t.Helper()
	ends, err := kadm.NewClient(e.cl).ListCommittedOffsets(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.KeepControlRecords()) // markers count as progress toward the end
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	out := map[string][]byte{}
	for len(left) > 0 {
		fs := cl.PollFetches(t.Context())
		if err := t.Context().Err(); err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				out[string(r.Key)] = r.Value
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

// waitMembers waits until the router group is stable with n members.
func (e *env) waitMembers(t *testing.T, n int) {
	t.Helper()
	adm := kadm.NewClient(e.cl)
	for {
		groups, err := adm.DescribeGroups(t.Context(), "sluice-router")
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := groups["sluice-router"]; ok && g.State == "Stable" && len(g.Members) == n {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("the router group never had %d stable members", n)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
