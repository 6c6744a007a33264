package delivery_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

// The delivery re-check follows identity links: a server-side event with
// only a userId is delivered to a category-mapped destination on the
// consent its user gave under a linked anonymousId, and a withdrawal under
// that anonymousId holds for it too; without a link it is dropped.
func TestConsentFollowsIdentityAtDelivery(t *testing.T) {
	e := newEnv(t)
	e.ws.Consent.Categories = []string{"analytics"}
	e.ws.Destinations[0].Categories = []string{"analytics"}
	grant, withdraw := map[string]bool{"analytics": true}, map[string]bool{"analytics": false}
	e.consent(t, "anon-1", grant, 1)
	e.link(t, "anon-1", "u-linked")
	e.consent(t, "anon-2", grant, 1) // never linked
	e.consent(t, "anon-3", grant, 1)
	e.link(t, "anon-3", "u-withdrawn")
	e.consent(t, "anon-3", withdraw, 2)
	e.route(t, "u-unlinked", "u-withdrawn", "u-linked")
	e.start(t)
	e.hook.waitFor(t, "m-u-linked")
	e.markEveryPartition(t)
	for _, m := range []string{"m-u-unlinked", "m-u-withdrawn"} {
		if n := e.hook.count(m); n != 0 {
			t.Errorf("delivered %s without consent %d times", m, n)
		}
	}
}

// markEveryPartition routes an event with its own consent to each partition
// of dest.hook and waits for them: every event routed before is decided.
func (e *env) markEveryPartition(t *testing.T) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var marks []string
	for p := int32(0); p < 2; p++ {
		now := time.Now().UTC()
		ev := schemas.Event{Type: schemas.Track, MessageID: fmt.Sprint("mark-", p), UserID: "marker", Event: "E",
			Timestamp: now, ReceivedAt: now, Workspace: "acme", Source: "web",
			Context: []byte(`{"consent":{"categoryPreferences":{"analytics":true}}}`)}
		rec := &kgo.Record{Topic: names.Destination("hook"), Partition: p, Key: ev.AppendKey(nil), Value: ev.AppendRaw(nil)}
		if err := cl.ProduceSync(t.Context(), rec).FirstErr(); err != nil {
			t.Fatal(err)
		}
		marks = append(marks, ev.MessageID)
	}
	e.hook.waitFor(t, marks...)
}

// consent writes a consent record for an anonymousId, captured at the given
// second.
func (e *env) consent(t *testing.T, anon string, prefs map[string]bool, at int64) {
	t.Helper()
	key, err := consent.Key("acme", consent.AnonymousID, anon)
	if err != nil {
		t.Fatal(err)
	}
	val, err := consent.EncodeRecord(consent.Record{CategoryPreferences: prefs, CapturedAt: time.Unix(at, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cl.ProduceSync(t.Context(), &kgo.Record{Topic: names.Of(topics.Consent), Key: key, Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// link writes an identities record: anon belongs to user.
func (e *env) link(t *testing.T, anon, user string) {
	t.Helper()
	key, err := suppress.LinkKey("acme", anon)
	if err != nil {
		t.Fatal(err)
	}
	val, err := suppress.EncodeLink(suppress.Link{UserID: user, At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cl.ProduceSync(t.Context(), &kgo.Record{Topic: names.Of(topics.Identities), Key: key, Value: val}).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
