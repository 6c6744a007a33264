package regulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/testenv/broker"
)

func testKeyring(t testing.TB, current string, ids ...string) *shred.Keyring {
	t.Helper()
	var keks []shred.KEK
	for _, id := range ids { // a KEK's secret follows from its id
		keks = append(keks, shred.KEK{ID: id, Secret: bytes.Repeat([]byte(id[len(id)-1:]), 32)})
	}
	k, err := shred.NewKeyring(current, keks...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// writeKey writes a data key of s to the keys topic, wrapped by kr's
// current KEK, and returns its id.
func writeKey(t testing.TB, b *broker.Broker, kr *shred.Keyring, s shred.Subject) shred.KeyID {
	t.Helper()
	id, dek := shred.NewKeyID(), shred.NewDEK()
	r := kr.WrapRecord(s, id, &dek, time.Now())
	produceRecords(t, b, &kgo.Record{Topic: "sluice.keys", Key: r.Key, Value: r.Value})
	return id
}

// keysTopic reads the keys topic to its end: each key's latest value, nil
// for a tombstone.
func keysTopic(t testing.TB, b *broker.Broker) map[string][]byte {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumeTopics("sluice.keys"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := kadm.NewClient(cl).ListEndOffsets(t.Context(), "sluice.keys")
	if err != nil {
		t.Fatal(err)
	}
	left := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			left[o.Partition] = o.Offset
		}
	})
	out := map[string][]byte{}
	for len(left) > 0 {
		cl.PollFetches(t.Context()).EachRecord(func(r *kgo.Record) {
			out[string(r.Key)] = r.Value
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
		})
	}
	return out
}

func subject(typ shred.SubjectType, id string) shred.Subject {
	return shred.Subject{Workspace: testWorkspace, Type: typ, ID: id}
}

// The keys step tombstones every data key of the deleted userId (two, as
// two API processes raced), of its linked anonymousId and every
// unattributed key, leaves other subjects' keys, and says so in its receipt.
func TestKeysStepShredsTheSubjectsKeys(t *testing.T) {
	b, _ := newBroker(t)
	kr := testKeyring(t, "k1", "k1")
	seedTopics(t, b, "u1", "a1")
	u1a := writeKey(t, b, kr, subject(shred.UserID, "u1"))
	u1b := writeKey(t, b, kr, subject(shred.UserID, "u1"))
	a1 := writeKey(t, b, kr, subject(shred.AnonymousID, "a1"))
	day := writeKey(t, b, kr, shred.UnattributedOn(testWorkspace, time.Now()))
	u2 := writeKey(t, b, kr, subject(shred.UserID, "u2"))
	a2 := writeKey(t, b, kr, subject(shred.AnonymousID, "a2"))

	s := openService(t, b, Config{Keyring: kr})
	runRegulator(t, s)
	id, _, err := s.Create(t.Context(), Body{RegulationType: SuppressWithDelete, SubjectType: UserID, SubjectIDs: []string{"u1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	g := waitFor(t, s, id, terminal)
	if g.OverallStatus != Finished {
		t.Fatalf("regulation ended %s: %+v", g.OverallStatus, g)
	}
	st := g.step(StepKeys)
	if st == nil || st.Status != Finished || st.Receipt == nil || st.Receipt.KeysShredded == nil || *st.Receipt.KeysShredded != 4 || st.Receipt.At.IsZero() {
		t.Fatalf("keys step %+v, want FINISHED with a receipt of 4 keys shredded", st)
	}
	if !strings.Contains(st.Receipt.Detail, "2 data keys of 1 userIds, 1 of 1 anonymousIds, 1 unattributed") {
		t.Errorf("receipt detail %q", st.Receipt.Detail)
	}
	latest := keysTopic(t, b)
	for name, c := range map[string]struct {
		s    shred.Subject
		id   shred.KeyID
		live bool
	}{
		"u1 (first)": {subject(shred.UserID, "u1"), u1a, false}, "u1 (second)": {subject(shred.UserID, "u1"), u1b, false},
		"a1": {subject(shred.AnonymousID, "a1"), a1, false}, "unattributed": {shred.UnattributedOn(testWorkspace, time.Now()), day, false},
		"u2": {subject(shred.UserID, "u2"), u2, true}, "a2": {subject(shred.AnonymousID, "a2"), a2, true},
	} {
		v, ok := latest[string(shred.RecordKey(c.s, c.id))]
		if !ok || (v != nil) != c.live {
			t.Errorf("%s: in the topic %v, value %q; want live %v", name, ok, v, c.live)
		}
	}
}

// Without a keyring the keys step says it is not supported, and the
// regulation still finishes.
func TestKeysStepWithoutKeyringIsNotSupported(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{})
	runRegulator(t, s)
	id, _, err := s.Create(t.Context(), Body{RegulationType: DeleteOnly, SubjectType: UserID, SubjectIDs: []string{"u1"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	g := waitFor(t, s, id, terminal)
	if st := g.step(StepKeys); g.OverallStatus != Finished || st == nil || st.Status != NotSupported || !strings.Contains(st.Error, "disabled") {
		t.Fatalf("regulation %s, keys step %+v", g.OverallStatus, st)
	}
}

// The maintenance tombstones again a key written after its shred (a re-wrap
// that lost a race), shreds expired unattributed keys, and re-wraps keys
// under an old KEK with the current one (same key id, same data key).
func TestKeysMaintenance(t *testing.T) {
	b, _ := newBroker(t)
	old := testKeyring(t, "k1", "k1")
	rotated := testKeyring(t, "k2", "k1", "k2")

	gone := subject(shred.UserID, "gone")
	goneID, goneDEK := shred.NewKeyID(), shred.NewDEK()
	rec := old.WrapRecord(gone, goneID, &goneDEK, time.Now())
	ts := shred.Tombstone(gone, goneID)
	produceRecords(t, b,
		&kgo.Record{Topic: "sluice.keys", Key: rec.Key, Value: rec.Value},
		&kgo.Record{Topic: "sluice.keys", Key: ts.Key},
		&kgo.Record{Topic: "sluice.keys", Key: rec.Key, Value: rec.Value}) // resurrected
	expired := shred.UnattributedOn(testWorkspace, time.Now().Add(-30*24*time.Hour))
	expiredID := writeKey(t, b, old, expired)
	recent := shred.UnattributedOn(testWorkspace, time.Now())
	recentID := writeKey(t, b, old, recent)
	keep := subject(shred.UserID, "keep")
	keepID, keepDEK := shred.NewKeyID(), shred.NewDEK()
	kr := old.WrapRecord(keep, keepID, &keepDEK, time.Now())
	produceRecords(t, b, &kgo.Record{Topic: "sluice.keys", Key: kr.Key, Value: kr.Value})
	env := shred.Seal(nil, keepID, &keepDEK, []byte("sealed under k1"))

	s := openService(t, b, Config{Keyring: rotated, KeysInterval: 20 * time.Millisecond})
	runRegulator(t, s)
	deadline := time.Now().Add(time.Minute)
	for {
		latest := keysTopic(t, b)
		var wrap struct{ KEK string }
		_ = json.Unmarshal(latest[string(kr.Key)], &wrap)
		done := latest[string(rec.Key)] == nil &&
			latest[string(shred.RecordKey(expired, expiredID))] == nil &&
			latest[string(shred.RecordKey(recent, recentID))] != nil &&
			wrap.KEK == "k2"
		if done {
			// k1 can go: a keyring of k2 alone opens what k1's key sealed.
			table := shred.NewTable(testKeyring(t, "k2", "k2"))
			_ = table.Apply(kr.Key, latest[string(kr.Key)])
			table.MarkCaughtUp()
			if out, _, err := table.Open(nil, env); err != nil || string(out) != "sealed under k1" {
				t.Fatalf("after the re-wrap, without k1: %q, %v", out, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("keys topic not repaired: resurrected %q, expired %v, recent %v, keep under %q",
				latest[string(rec.Key)], latest[string(shred.RecordKey(expired, expiredID))] == nil,
				latest[string(shred.RecordKey(recent, recentID))] != nil, wrap.KEK)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
