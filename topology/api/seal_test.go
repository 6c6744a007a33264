package api

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/topics"
)

// withKeys seals with a keyring of one KEK, writing new keys to the keys
// topic through the api's producer as the api role does.
func withKeys(kr *shred.Keyring) envOption {
	return func(c *Config) {
		table := shred.NewTable(kr)
		table.MarkCaughtUp() // an empty keys topic
		topic := topics.Names{Prefix: c.Workspace.WithDefaults().TopicPrefix}.Of(topics.Keys)
		prod := c.Producer
		c.Keys = shred.NewCreator(table, func(ctx context.Context, recs []shred.Record) error {
			krs := make([]*kgo.Record, len(recs))
			for i, r := range recs {
				krs[i] = &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
			}
			return prod.ProduceSync(ctx, krs...).FirstErr()
		})
	}
}

// tableOf is a table of the keys topic's records.
func tableOf(t *testing.T, kr *shred.Keyring, recs []*kgo.Record) *shred.Table {
	t.Helper()
	table := shred.NewTable(kr)
	for _, r := range recs {
		if err := table.Apply(r.Key, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	table.MarkCaughtUp()
	return table
}

// With Keys, the answer 200 comes after the subject's data key is in the
// keys topic; events.raw holds only envelopes under that key (one key per
// subject, however many events and requests); a refused body's dead letter
// is sealed under the day's unattributed key.
func TestEventsAndDeadLettersAreSealed(t *testing.T) {
	kr, err := shred.NewKeyring("k1", shred.KEK{ID: "k1", Secret: bytes.Repeat([]byte{9}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withKeys(kr))
	batch := []byte(`{"batch":[{"type":"track","userId":"u1","event":"A","properties":{"email":"u1@marker.example"}},` +
		`{"type":"identify","userId":"u1","traits":{"email":"u1@marker.example"}},` +
		`{"type":"track","anonymousId":"a1","event":"B","properties":{"email":"a1@marker.example"}}]}`)
	if r := e.post("/v1/batch", webKey, batch); r.status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.status, r.raw)
	}
	keys := e.recordsBeforeSentinel(e.names.Of(topics.Keys)) // written before the answer
	if len(keys) != 2 {
		t.Fatalf("%d key records after the answer, want 2 (u1, a1)", len(keys))
	}
	if r := e.post("/v1/track", webKey, []byte(`{"userId":"u1","event":"C","properties":{"email":"u1@marker.example"}}`)); r.status != http.StatusOK {
		t.Fatalf("track: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/track", webKey, []byte(`{"userId":"u1","event":"D","properties":{"email":"u1-bad@marker.example"`)); r.status != http.StatusBadRequest {
		t.Fatalf("a malformed body: %d, want 400", r.status)
	}
	raw := e.records(e.names.Of(topics.Raw), 4)
	dl := e.records(e.names.Of(topics.DeadLetter), 1)
	keys = e.recordsBeforeSentinel(e.names.Of(topics.Keys))
	if len(keys) != 3 {
		t.Fatalf("%d key records, want 3: u1 and a1 once, and the day's unattributed key", len(keys))
	}
	table := tableOf(t, kr, keys)
	u1, _ := table.Current(shred.Subject{Workspace: testWorkspace, Type: shred.UserID, ID: "u1"})
	day, ok := table.Current(shred.UnattributedOn(testWorkspace, dl[0].Timestamp))
	if !ok {
		t.Fatal("no unattributed key of the dead letter's day")
	}
	for _, r := range append(raw, dl...) {
		if bytes.Contains(r.Value, []byte("marker.example")) || !shred.IsSealed(r.Value) {
			t.Fatalf("%s holds a value in clear: %q", r.Topic, r.Value)
		}
		plain, id, err := table.Open(nil, r.Value)
		if err != nil {
			t.Fatalf("%s: %v", r.Topic, err)
		}
		switch {
		case r.Topic == e.names.Of(topics.DeadLetter):
			if id != day || !strings.Contains(string(plain), "u1-bad@marker.example") {
				t.Errorf("dead letter under %v (day key %v): %s", id, day, plain)
			}
		case string(r.Key) == testWorkspace+"/u1" && id != u1:
			t.Errorf("u1's event under key %v, not u1's %v", id, u1)
		}
	}
}
