package dev_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/dev"
	"github.com/sluicehq/sluice/topology/planstore"
)

// startDevWith runs a dev stack of workspace ws in dir.
func startDevWith(t *testing.T, dir string, ws *config.Config) (dev.Info, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan dev.Info, 1)
	done := make(chan error, 1)
	cfg := dev.Config{DataDir: dir, Config: ws, APIAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0", ClickHouseAddr: "127.0.0.1:0"}
	go func() { done <- dev.Run(ctx, cfg, func(i dev.Info) { ready <- i }) }()
	select {
	case info := <-ready:
		return info, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dev stack stopped with %v", err)
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("dev stack did not start: %v", err)
	}
	return dev.Info{}, nil
}

// streamTopics are every sluice stream topic of the e2e workspace.
var streamTopics = []string{"sluice.events.raw", "sluice.dest.warehouse", "sluice.dest.hook", "sluice.dest.stream", "sluice.violations", "sluice.deadletter"}

// readAll reads topics from their start to their committed end.
func readAll(t *testing.T, seed string, topics ...string) map[string][]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(seed), kgo.ConsumeTopics(topics...), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.KeepControlRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListCommittedOffsets(t.Context(), topics...)
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if left[o.Topic] == nil {
				left[o.Topic] = map[int32]int64{}
			}
			left[o.Topic][o.Partition] = o.Offset
		}
	})
	out := map[string][]*kgo.Record{}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("reading %v: %v left", topics, left)
		}
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := left[r.Topic][r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				out[r.Topic] = append(out[r.Topic], r)
			}
			if r.Offset+1 >= end {
				delete(left[r.Topic], r.Partition)
				if len(left[r.Topic]) == 0 {
					delete(left, r.Topic)
				}
			}
		})
	}
	return out
}

// keyTable is a table of the dev stack's keys topic as it is now, unwrapped
// with the dev KEK: what any reader holding the KEK could open.
func keyTable(t *testing.T, info dev.Info) *shred.Table {
	t.Helper()
	data, err := os.ReadFile(info.KEKFile)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := config.ParseKEK(string(data))
	if err != nil {
		t.Fatal(err)
	}
	kr, err := shred.NewKeyring("dev", shred.KEK{ID: "dev", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	table := shred.NewTable(kr)
	for _, r := range readAll(t, info.Kafka, "sluice.keys")["sluice.keys"] {
		_ = table.Apply(r.Key, r.Value)
	}
	table.MarkCaughtUp()
	return table
}

// opened is every stream record opened with the keys there are now.
type opened struct {
	plain      map[string][]string // topic → plaintexts
	unreadable map[string]int      // topic → records that do not open
	raw        map[string][][]byte // topic → values as stored
}

func openStreams(t *testing.T, info dev.Info) opened {
	t.Helper()
	table := keyTable(t, info)
	o := opened{plain: map[string][]string{}, unreadable: map[string]int{}, raw: map[string][][]byte{}}
	for topic, recs := range readAll(t, info.Kafka, streamTopics...) {
		for _, r := range recs {
			o.raw[topic] = append(o.raw[topic], r.Value)
			if p, _, err := table.Open(nil, r.Value); err == nil {
				o.plain[topic] = append(o.plain[topic], string(p))
			} else {
				o.unreadable[topic]++
			}
		}
	}
	return o
}

func (o opened) contains(topic, marker string) bool {
	for _, p := range o.plain[topic] {
		if strings.Contains(p, marker) {
			return true
		}
	}
	return false
}

// webhookLog is a webhook destination that keeps every body it was sent.
type webhookLog struct {
	mu     sync.Mutex
	bodies []string
}

func (h *webhookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.bodies = append(h.bodies, string(b))
	h.mu.Unlock()
}

func (h *webhookLog) has(s string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, b := range h.bodies {
		if strings.Contains(b, s) {
			return true
		}
	}
	return false
}

// signupPlan blocks a Signed Up whose count is not a number, to violations.
var signupPlan = plan.Files{
	"plan.yaml":      []byte("name: signup\nowners: [e2e@sluice.invalid]\npolicy: {unplannedEvents: allow, unplannedProperties: allow, typeViolations: block, blockedToViolations: true}\nevents:\n  Signed Up:\n    versions: {1: signed_up.avsc}\n"),
	"signed_up.avsc": []byte(`{"type":"record","name":"SignedUp","fields":[{"name":"email","type":"string"},{"name":"count","type":["null","long"],"default":null}]}`),
}

// Crypto-shredding on the dev stack, end to end: track, identify, blocked,
// dead-lettered (by the router and by the API) and anonymous-then-linked
// events of several users; SUPPRESS_WITH_DELETE for some. Once it is
// FINISHED, every record of every sluice stream topic is ciphertext, none of
// the deleted users' payload markers can be read with the keys that are
// left, while the other users' events still open, reached ClickHouse, the
// webhook and the Kafka destination in clear, and export; a restart brings
// nothing back.
func TestCryptoShreddingEndToEnd(t *testing.T) {
	dir := t.TempDir()
	ext := broker.ForTest(t) // the Kafka destination's own cluster
	extCl, err := kgo.NewClient(kgo.SeedBrokers(ext.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer extCl.Close()
	if _, err := kadm.NewClient(extCl).CreateTopic(t.Context(), 1, 1, nil, "analytics.events"); err != nil {
		t.Fatal(err)
	}
	hook := &webhookLog{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	const writeKey = "wk_e2e_shred"
	ws := &config.Config{
		Sources: []config.Source{{Name: "web", WriteKey: writeKey, TrackingPlan: "signup"}},
		Destinations: []config.Destination{
			{Name: "warehouse", Type: config.DestinationClickHouse, Settings: map[string]any{"database": dev.Database}},
			{Name: "hook", Type: config.DestinationWebhook, Settings: map[string]any{"url": hookSrv.URL + "/events", "deleteUrl": hookSrv.URL + "/delete", "batchWait": "50ms"}},
			{Name: "stream", Type: config.DestinationKafka, Settings: map[string]any{"topic": "analytics.events", "brokers": []any{ext.Addr()}}},
		},
	}

	// The plan first: the next start's router waits for it.
	info, stop := startDevWith(t, dir, ws)
	store, err := planstore.New(planstore.Config{Brokers: []string{info.Kafka}, TopicPrefix: "sluice."})
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Check(signupPlan)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Publish(t.Context(), p, planstore.PublishOptions{Author: "e2e"}); err != nil {
		t.Fatal(err)
	}
	store.Close()
	stop()
	info, stop = startDevWith(t, dir, ws)
	if info.KEKFile == "" {
		t.Fatal("the dev stack has no KEK file")
	}
	if fi, err := os.Stat(info.KEKFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("dev KEK file: %v, %v; want mode 0600", fi, err)
	}

	nonce := make([]byte, 4)
	rand.Read(nonce)
	mark := func(who string) string { return who + "-" + hex.EncodeToString(nonce) + "@marker.example" }
	auth := func(r *http.Request) { r.SetBasicAuth(writeKey, "") }
	admin := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+info.AdminToken) }
	send := func(route string, body any) {
		t.Helper()
		if code := post(t, info.API+route, auth, body, nil); code != http.StatusOK {
			t.Fatalf("%s %v: %d", route, body, code)
		}
	}
	kept, deleted := []string{"u2", "u3", "u4"}, []string{"u1", "u5"}
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		send("/v1/track", map[string]any{"userId": u, "event": "Signed Up", "properties": map[string]any{"email": mark(u), "count": 1}})
		send("/v1/identify", map[string]any{"userId": u, "traits": map[string]any{"email": mark(u)}})
	}
	for _, u := range []string{"u1", "u3"} { // blocked by the plan: to violations
		send("/v1/track", map[string]any{"userId": u, "event": "Signed Up", "properties": map[string]any{"email": mark(u) + "-blocked", "count": "many"}})
	}
	for _, u := range []string{"u1", "u2"} { // refused by the router: a dead letter of the user
		send("/v1/track", map[string]any{"userId": u, "event": "Segment Consent Preference Updated", "properties": map[string]any{"email": mark(u) + "-router"}})
	}
	for _, u := range []string{"u1", "u2"} { // refused by the API: a dead letter without a subject
		req, _ := http.NewRequest(http.MethodPost, info.API+"/v1/track",
			strings.NewReader(`{"userId":"`+u+`","event":"Signed Up","properties":{"email":"`+mark(u)+`-api"`))
		req.Header.Set("Content-Type", "application/json")
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("malformed body: %d, want 400", resp.StatusCode)
		}
	}
	// An anonymous visitor, later identified as u5.
	send("/v1/track", map[string]any{"anonymousId": "anon-5", "event": "Signed Up", "properties": map[string]any{"email": mark("anon-5"), "count": 2}})
	send("/v1/identify", map[string]any{"userId": "u5", "anonymousId": "anon-5", "traits": map[string]any{"email": mark("u5")}})

	waitUntil(t, "every user's rows in ClickHouse", func() bool {
		return count(t, info, "user_id IN ('u1','u2','u3','u4')") == 4 && count(t, info, "anonymous_id = 'anon-5'") == 1
	})
	waitUntil(t, "the violations and dead letters", func() bool {
		o := openStreams(t, info)
		return len(o.raw["sluice.violations"]) == 2 && len(o.raw["sluice.deadletter"]) == 4
	})
	before := openStreams(t, info)
	for _, m := range []string{mark("u1"), mark("u1") + "-blocked", mark("u1") + "-router", mark("u1") + "-api", mark("anon-5"), mark("u5")} {
		found := false
		for _, topic := range streamTopics {
			found = found || before.contains(topic, m)
		}
		if !found {
			t.Fatalf("before the deletion, %s opens nowhere: the test would prove nothing", m)
		}
	}

	var created struct{ ID string }
	subjects, _ := json.Marshal(deleted)
	if code := post(t, info.API+"/v1/regulations", admin, json.RawMessage(`{"regulationType":"SUPPRESS_WITH_DELETE","subjectType":"USER_ID","subjectIds":`+string(subjects)+`}`), &created); code/100 != 2 || created.ID == "" {
		t.Fatalf("regulation: %d %+v", code, created)
	}
	var reg struct {
		OverallStatus string
		Steps         []struct {
			Name, Status string
			Receipt      *struct {
				At           time.Time
				KeysShredded *int
			}
		}
	}
	waitUntil(t, "the regulation to finish", func() bool {
		body := get(t, info.API+"/v1/regulations/"+created.ID, admin)
		var env struct{ Data json.RawMessage }
		_ = json.Unmarshal([]byte(body), &env)
		if len(env.Data) > 0 {
			body = string(env.Data)
		}
		if err := json.Unmarshal([]byte(body), &reg); err != nil {
			t.Fatal(err)
		}
		if reg.OverallStatus == "FAILED" || reg.OverallStatus == "PARTIAL_SUCCESS" {
			t.Fatalf("regulation ended %s: %s", reg.OverallStatus, body)
		}
		return reg.OverallStatus == "FINISHED"
	})
	keysStep := false
	for _, st := range reg.Steps {
		if st.Name == "keys" {
			keysStep = true
			// u1, u5, anon-5 and the day's unattributed key, at least.
			if st.Status != "FINISHED" || st.Receipt == nil || st.Receipt.KeysShredded == nil || *st.Receipt.KeysShredded < 4 || st.Receipt.At.IsZero() {
				t.Fatalf("keys step %+v", st)
			}
		}
	}
	if !keysStep {
		t.Fatal("the regulation has no keys step")
	}

	check := func(when string) {
		t.Helper()
		o := openStreams(t, info)
		everyone := []string{mark("u1"), mark("u2"), mark("u3"), mark("u4"), mark("u5"), mark("anon-5")}
		for topic, values := range o.raw {
			for _, v := range values {
				if !shred.IsSealed(v) {
					t.Errorf("%s: %s holds a value in clear: %q", when, topic, v)
				}
				for _, m := range everyone {
					if bytes.Contains(v, []byte(m)) {
						t.Errorf("%s: %s holds %s in a stored value", when, topic, m)
					}
				}
			}
		}
		for _, topic := range streamTopics {
			for _, who := range []string{"u1", "u5", "anon-5"} {
				for _, m := range []string{mark(who), mark(who) + "-blocked", mark(who) + "-router", mark(who) + "-api"} {
					if o.contains(topic, m) {
						t.Errorf("%s: %s of deleted %s still opens in %s", when, m, who, topic)
					}
				}
			}
		}
		for _, u := range kept {
			for _, topic := range []string{"sluice.events.raw", "sluice.dest.warehouse", "sluice.dest.hook", "sluice.dest.stream"} {
				if !o.contains(topic, mark(u)) {
					t.Errorf("%s: %s of kept %s does not open in %s", when, mark(u), u, topic)
				}
			}
		}
		if !o.contains("sluice.violations", mark("u3")+"-blocked") || !o.contains("sluice.deadletter", mark("u2")+"-router") {
			t.Errorf("%s: u3's violation or u2's dead letter does not open", when)
		}
		// Every unattributed key is shredded with a deletion: the API's dead
		// letters (a body may hold anyone's data) no longer open.
		if o.contains("sluice.deadletter", mark("u2")+"-api") {
			t.Errorf("%s: an API dead letter still opens after a deletion", when)
		}
		if o.unreadable["sluice.events.raw"] == 0 {
			t.Errorf("%s: no record of events.raw is unreadable: the deleted users' records are gone, not shredded (the test would prove nothing)", when)
		}
		in := "user_id IN ('u1','u5') OR anonymous_id = 'anon-5'"
		if n := count(t, info, in); n != 0 {
			t.Errorf("%s: %d rows of the deleted users in ClickHouse", when, n)
		}
		if n := count(t, info, "user_id IN ('u2','u3','u4')"); n != 3 {
			t.Errorf("%s: %d rows of the kept users in ClickHouse, want 3", when, n)
		}
	}
	check("after FINISHED")

	// The destinations got the kept users' events in clear (their data).
	for _, u := range kept {
		if !hook.has(mark(u)) {
			t.Errorf("the webhook never received %s in clear", mark(u))
		}
	}
	ext2 := readAll(t, ext.Addr(), "analytics.events")["analytics.events"]
	found := false
	for _, r := range ext2 {
		found = found || bytes.Contains(r.Value, []byte(mark("u2")))
	}
	if !found {
		t.Errorf("the Kafka destination has no plaintext event of u2 (%d records)", len(ext2))
	}
	if body := get(t, info.API+"/v1/users/u2/export", admin); !strings.Contains(body, mark("u2")) {
		t.Errorf("u2's export lacks %s: %.300s", mark("u2"), body)
	}

	stop()
	info, stop = startDevWith(t, dir, ws)
	defer stop()
	time.Sleep(2 * time.Second) // anything a restart re-delivered would arrive now
	check("after a restart")
}
