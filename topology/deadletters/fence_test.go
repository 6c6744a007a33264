package deadletters

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// plainService is a Service on an embedded broker whose workspace has one
// destination, crm, and plaintext topics; users get one sink letter of crm
// each, reason "refused", written now.
func plainService(t *testing.T, users ...string) (*Service, *kgo.Client) {
	t.Helper()
	b := broker.ForTest(t)
	ws := config.Config{Workspace: "acme", Encryption: config.Encryption{Disabled: true},
		Sources:      []config.Source{{Name: "web", WriteKey: "wk"}},
		Destinations: []config.Destination{{Name: "crm", Type: config.DestinationWebhook, Settings: map[string]any{"url": "http://127.0.0.1:1/"}}},
	}.WithDefaults()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if _, err := topics.Apply(t.Context(), kadm.NewClient(cl), topics.ForConfig(ws)); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		produce(t, cl, sinkLetter(`"userId":"`+u+`"`, "m-"+u, "refused", time.Now()))
	}
	s, err := New(Config{Seeds: []string{b.Addr()}, Workspace: ws})
	if err != nil {
		t.Fatal(err)
	}
	return s, cl
}

// sinkLetter is a plaintext sink dead letter of crm for an event with the
// given id fields (`"userId":"u1"`), written at.
func sinkLetter(ids, messageID, reason string, at time.Time) *kgo.Record {
	event := `{"type":"track","messageId":"` + messageID + `","workspace":"acme","source":"web",` + ids + `,"event":"E","timestamp":"2026-12-05T00:00:00Z","receivedAt":"2026-12-05T00:00:00Z"}`
	v := `{"destination":"crm","reason":"` + reason + `","error":"HTTP 400","attempts":1,"topic":"sluice.dest.crm","partition":0,"offset":1,"event":` + quote(event) + `}`
	return &kgo.Record{Topic: "sluice.deadletter", Key: []byte("acme/" + messageID), Value: []byte(v), Timestamp: at}
}

func produce(t *testing.T, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// committed returns the committed records of topic.
func committed(t *testing.T, s *Service, topic string) []*kgo.Record {
	t.Helper()
	var out []*kgo.Record
	if err := s.eachRecord(t.Context(), topic, func(r *kgo.Record) { out = append(out, r) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A replay fences every earlier replay of its destination: one that read
// the letters before it cannot commit them a second time.
func TestReplayFencesAnEarlierReplay(t *testing.T) {
	s, _ := plainService(t, "u1", "u2")
	ctx := t.Context()
	earlier, err := s.fence(ctx, "crm")
	if err != nil {
		t.Fatal(err)
	}
	defer earlier.Close()
	rep, err := s.Replay(ctx, ReplayRequest{Filter: Filter{Destination: "crm"}}, admin.NewOnce(admin.Bootstrap, ""))
	if err != nil || rep.Replayed != 2 {
		t.Fatalf("replay: %+v %v", rep, err)
	}
	late := &kgo.Record{Topic: "sluice.dest.crm", Key: []byte("acme/u1"), Value: []byte(`{}`)}
	if err := commit(ctx, earlier, []*kgo.Record{late}); !errors.Is(err, ErrConcurrentReplay) {
		t.Fatalf("the fenced replay committed: %v", err)
	}
	for _, r := range committed(t, s, "sluice.dest.crm") {
		if string(r.Value) == `{}` {
			t.Fatal("the fenced replay's record was committed")
		}
	}
	again, err := s.Replay(ctx, ReplayRequest{Filter: Filter{Destination: "crm"}}, admin.NewOnce(admin.Bootstrap, ""))
	if err != nil || again.Replayed != 0 || again.AlreadyReplayed != 2 {
		t.Fatalf("a second replay: %+v %v", again, err)
	}
	forced, err := s.Replay(ctx, ReplayRequest{Filter: Filter{Destination: "crm"}, Again: true}, admin.NewOnce(admin.Bootstrap, ""))
	if err != nil || forced.Replayed != 2 {
		t.Fatalf("a replay with Again: %+v %v", forced, err)
	}
	l, err := s.List(ctx, Filter{}, ListOptions{Show: true})
	if err != nil || len(l.Letters) != 2 || len(l.Letters[0].Replays) != 2 || l.Letters[0].Replays[0] != rep.ID {
		t.Fatalf("listing after two replays: %+v %v", l, err)
	}
	if _, err := s.Replay(ctx, ReplayRequest{Filter: Filter{Destination: "mail"}}, admin.NewOnce(admin.Bootstrap, "")); err == nil {
		t.Fatal("a replay to a destination not in the config")
	}
}

// Filters select by reason and by when a letter was written, for a listing
// (newest kept under a limit) and a replay alike; an event whose
// anonymousId is linked to a suppressed userId is skipped.
func TestFiltersAndLinkedSuppression(t *testing.T) {
	s, cl := plainService(t)
	day := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	produce(t, cl,
		sinkLetter(`"userId":"u1"`, "m-old", "refused", day.Add(time.Hour)),
		sinkLetter(`"userId":"u1"`, "m-new", "refused", day.Add(3*time.Hour)),
		sinkLetter(`"userId":"u2"`, "m-other", "timed out", day.Add(2*time.Hour)),
		sinkLetter(`"anonymousId":"a7"`, "m-anon", "timed out", day.Add(2*time.Hour)),
	)
	ctx := t.Context()
	list := func(f Filter, o ListOptions) *Listing {
		t.Helper()
		l, err := s.List(ctx, f, o)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if l := list(Filter{Reason: "refused"}, ListOptions{}); len(l.Groups) != 1 || l.Groups[0].Count != 2 ||
		!l.Groups[0].First.Equal(day.Add(time.Hour)) || !l.Groups[0].Last.Equal(day.Add(3*time.Hour)) {
		t.Errorf("reason=refused: %+v", l.Groups)
	}
	if l := list(Filter{Since: day.Add(2 * time.Hour), Until: day.Add(3 * time.Hour)}, ListOptions{Show: true}); len(l.Letters) != 2 ||
		l.Letters[0].Reason != "timed out" || l.Letters[1].Reason != "timed out" {
		t.Errorf("since/until: %+v", l.Letters)
	}
	if l := list(Filter{}, ListOptions{Show: true, Limit: 1}); len(l.Letters) != 1 || !l.Truncated || l.Letters[0].MessageID != "m-new" {
		t.Errorf("limit 1: %+v", l)
	}
	if l := list(Filter{}, ListOptions{Show: true, Payloads: true}); len(l.Letters) != 4 || !strings.Contains(l.Letters[0].Payload, `"messageId":"m-old"`) {
		t.Errorf("payloads: %+v", l.Letters)
	}

	// u2 is suppressed and a7 is u2's anonymousId.
	sk, _ := suppress.Key("acme", suppress.UserID, "u2")
	sv, _ := suppress.EncodeRecord(suppress.Record{RegulationID: "r1", SubjectType: suppress.UserID, SubjectID: "u2", At: day})
	lk, _ := suppress.LinkKey("acme", "a7")
	lv, _ := suppress.EncodeLink(suppress.Link{UserID: "u2", At: day})
	produce(t, cl, &kgo.Record{Topic: "sluice.suppressions", Key: sk, Value: sv}, &kgo.Record{Topic: "sluice.identities", Key: lk, Value: lv})
	rep, err := s.Replay(ctx, ReplayRequest{Filter: Filter{Destination: "crm", Reason: "timed out"}}, admin.NewOnce(admin.Bootstrap, ""))
	if err != nil || rep.Selected != 2 || rep.SkippedSuppressed != 2 || rep.Replayed != 0 {
		t.Fatalf("replay of u2's and a7's letters: %+v %v", rep, err)
	}
	rep, err = s.Replay(ctx, ReplayRequest{Filter: Filter{Destination: "crm", Until: day.Add(2 * time.Hour)}}, admin.NewOnce(admin.Bootstrap, ""))
	if err != nil || rep.Selected != 1 || rep.Replayed != 1 {
		t.Fatalf("replay until 02:00: %+v %v", rep, err)
	}
	var replayed []string
	for _, r := range committed(t, s, "sluice.dest.crm") {
		replayed = append(replayed, string(r.Key))
	}
	if len(replayed) != 1 || replayed[0] != "acme/m-old" {
		t.Fatalf("dest.crm holds %v, want the letter of m-old only", replayed)
	}
}
