package regulator

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestInFlightWaitsForRouterAndSinks plays the router and a sink with real
// consumer groups on the embedded broker: the regulation deletes nothing
// until the router group has passed the events.raw offsets of its filing and
// the sink group has passed the destination topic's offsets taken after;
// a row the sink delivers meanwhile is deleted too.
func TestInFlightWaitsForRouterAndSinks(t *testing.T) {
	e := newEnv(t, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	// Events accepted by the API before the regulation: in flight.
	var raw []*kgo.Record
	for i := range 5 {
		raw = append(raw, &kgo.Record{Topic: "sluice.events.raw", Key: []byte("acme/u2"), Value: []byte(`{"i":` + string(rune('0'+i)) + `}`)})
	}
	produceRecords(t, e.b, raw...)

	s := openService(t, e.b, e.cfg)
	runRegulator(t, s)
	id := e.file(t, s, DeleteOnly, "u2")

	waiting := func(group string) func(*Regulation) bool {
		return func(r *Regulation) bool {
			return strings.Contains(r.step(StepInFlight).Detail, "consumer group "+group+" ")
		}
	}
	r := waitFor(t, s, id, waiting("sluice-router"))
	if r.OverallStatus != Running || rowsOf(t, e.conn, "tracks", "user_id", "u2") != 3 || e.wh.n.Load() != 0 {
		t.Fatalf("deleted before the router passed: %+v", r)
	}

	// The router routes them: its output in a transaction, then its offsets.
	router, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.TransactionalID("fake-router"))
	if err != nil {
		t.Fatal(err)
	}
	defer router.Close()
	if err := router.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	out := []*kgo.Record{
		{Topic: "sluice.dest.warehouse", Key: []byte("acme/u2"), Value: []byte(`{"late":1}`)},
		{Topic: "sluice.dest.warehouse", Key: []byte("acme/u2"), Value: []byte(`{"late":2}`)},
	}
	if err := router.ProduceSync(t.Context(), out...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := router.EndTransaction(t.Context(), kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// Commit the router's offsets one partition at a time: the wait must
	// hold until the last one.
	var commits []kadm.Offsets
	for _, rec := range raw {
		o := kadm.Offsets{}
		o.AddOffset(rec.Topic, rec.Partition, rec.Offset+1, -1)
		commits = append(commits, o)
	}
	for i, o := range commits {
		if _, err := adm.CommitOffsets(t.Context(), "sluice-router", o); err != nil {
			t.Fatal(err)
		}
		if i < len(commits)-1 {
			if r, _, _ := s.Get(t.Context(), id); r.step(StepInFlight).Status == Finished {
				t.Fatal("in-flight step finished before the router passed every record")
			}
		}
	}

	r = waitFor(t, s, id, waiting("sluice-sink-warehouse"))
	if r.OverallStatus != Running || e.wh.n.Load() != 0 {
		t.Fatalf("deleted before the sink passed: %+v", r)
	}
	// The sink delivers the in-flight events (a late row), then commits the
	// offset after its last record: the transaction's commit marker stays
	// below the end offset the regulator took.
	insertRows(t, e.conn, []string{"u2"}, 1, nil)
	if n := rowsOf(t, e.conn, "tracks", "user_id", "u2"); n != 4 {
		t.Fatalf("u2 has %d tracks before the delete, want 4", n)
	}
	last := out[len(out)-1]
	sink := kadm.Offsets{}
	sink.AddOffset(last.Topic, last.Partition, last.Offset+1, -1)
	if _, err := adm.CommitOffsets(t.Context(), "sluice-sink-warehouse", sink); err != nil {
		t.Fatal(err)
	}

	r = waitFor(t, s, id, terminal)
	if r.OverallStatus != Finished {
		t.Fatalf("status %s: %+v", r.OverallStatus, r)
	}
	for _, tb := range []string{"tracks", "pages", "users"} {
		if n := rowsOf(t, e.conn, tb, "user_id", "u2"); n != 0 {
			t.Errorf("%s: %d rows of u2 after FINISHED (the late row included)", tb, n)
		}
	}
	rc := r.step(StepInFlight).Receipt
	var sawRaw, sawDest bool
	for _, o := range rc.Offsets {
		sawRaw = sawRaw || o.Group == "sluice-router" && o.Topic == "sluice.events.raw"
		sawDest = sawDest || o.Group == "sluice-sink-warehouse" && o.Topic == "sluice.dest.warehouse" && o.Offset > last.Offset+1
	}
	if !sawRaw || !sawDest {
		t.Errorf("in-flight receipt offsets %+v", rc.Offsets)
	}
}
