package delivery_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/topology/delivery"
)

// users spread events over both partitions of dest.hook.
func msgs(prefix string, from, to int) []msg {
	var out []msg
	for i := from; i < to; i++ {
		out = append(out, msg{id: fmt.Sprintf("%s%d", prefix, i), user: fmt.Sprintf("u%d", i)})
	}
	return out
}

func ids(ms []msg) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.id
	}
	return out
}

// The same messageId produced again into dest.<name> at later offsets (as a
// router does after a broker committed its output but not its input) is
// delivered once: in the same batch, after a commit, across an engine
// restart (the set is rebuilt from headers) and across partition
// reassignments between two members.
func TestDuplicatesDeliveredOnce(t *testing.T) {
	e := newEnv(t)
	first := msgs("d", 0, 10)
	e.produce(t, append(first, first[0], first[1], first[2])...) // copies before any commit
	stopA := e.run(t, delivery.Config{})
	e.hook.waitFor(t, ids(first)...)

	e.produce(t, append(first[3:6], msgs("d", 10, 12)...)...) // copies after the commit
	e.hook.waitFor(t, "d10", "d11")

	stopA()
	e.produce(t, append(first[6:10], msgs("d", 12, 14)...)...) // copies while no engine runs
	stopB := e.run(t, delivery.Config{})
	e.hook.waitFor(t, "d12", "d13")

	// A second member joins: partitions move between B and C.
	e.run(t, delivery.Config{})
	waitMembers(t, e, 2)
	e.produce(t, append(msgs("d", 0, 14), msgs("d", 14, 20)...)...)
	e.hook.waitFor(t, ids(msgs("d", 14, 20))...)

	stopB() // C takes every partition
	waitMembers(t, e, 1)
	e.produce(t, append(msgs("d", 0, 20), msgs("d", 20, 24)...)...)
	e.hook.waitFor(t, ids(msgs("d", 20, 24))...)

	e.settle(t)
	for _, id := range ids(msgs("d", 0, 24)) {
		if n := e.hook.count(id); n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

// A dead-lettered messageId is not remembered as delivered, also after a
// restart: produced again (as `sluice deadletter replay` does) it is
// delivered, once.
func TestDeadLetteredMessageCanBeReplayed(t *testing.T) {
	e := newEnv(t)
	e.hook.status.Store(http.StatusBadRequest)
	stop := e.run(t, delivery.Config{})
	e.produce(t, msg{"r1", "ur1"}, msg{"r2", "ur2"})
	eventually(t, "two dead letters", func() bool { return len(e.deadLetters(t)) == 2 })
	e.hook.status.Store(0)
	e.produce(t, msg{"r3", "ur3"})
	e.hook.waitFor(t, "r3")

	stop()
	e.run(t, delivery.Config{})
	e.produce(t, msg{"r1", "ur1"}, msg{"r3", "ur3"}) // a replay of r1, a copy of r3
	e.hook.waitFor(t, "r1")
	e.produce(t, msg{"r1", "ur1"}) // a second replay
	e.settle(t)
	for id, want := range map[string]int{"r1": 1, "r2": 0, "r3": 1} {
		if n := e.hook.count(id); n != want {
			t.Errorf("%s delivered %d times, want %d", id, n, want)
		}
	}
}

// A batch the receiver got but sluice never saw acknowledged (a crash
// between delivery and commit) comes again with the same Idempotency-Key
// after a restart, although more events arrived meanwhile, which a new cut
// would have added to it.
func TestRedeliveredBatchKeepsItsKey(t *testing.T) {
	e := newEnv(t)
	e.ws.Destinations[0].Settings["timeout"] = "300ms"
	e.hook.hangAfterRead.Store(true)
	stop := e.run(t, delivery.Config{})
	e.produce(t, msg{"k1", "uk"}, msg{"k2", "uk"}, msg{"k3", "uk"})
	eventually(t, "the receiver got k1", func() bool { e.hook.mu.Lock(); defer e.hook.mu.Unlock(); return len(e.hook.keys["k1"]) > 0 })
	stop()
	e.produce(t, msg{"k4", "uk"}, msg{"k5", "uk"})
	e.hook.hangAfterRead.Store(false)
	e.run(t, delivery.Config{})
	e.hook.waitFor(t, "k1", "k2", "k3", "k4", "k5")

	e.hook.mu.Lock()
	defer e.hook.mu.Unlock()
	k1 := e.hook.keys["k1"]
	if len(k1) < 2 {
		t.Fatalf("k1 came %d times, want a re-delivery", len(k1))
	}
	for _, id := range []string{"k1", "k2", "k3"} {
		for _, k := range e.hook.keys[id] {
			if k != k1[0] {
				t.Errorf("%s came with keys %v, want only %s", id, e.hook.keys[id], k1[0])
			}
		}
	}
	if k4 := e.hook.keys["k4"]; len(k4) == 0 || k4[0] == k1[0] {
		t.Errorf("k4 came with keys %v, want a batch of its own", k4)
	}
}

// A member retrying a destination that is down does not hold up a
// rebalance: a second member joins and gets partitions while the
// destination is still down, and every event is delivered once after.
func TestRebalanceProceedsWhileRetrying(t *testing.T) {
	e := newEnv(t)
	e.hook.status.Store(http.StatusServiceUnavailable)
	e.run(t, delivery.Config{})
	batch := msgs("b", 0, 20)
	e.produce(t, batch...)
	eventually(t, "attempts on both partitions", func() bool {
		e.hook.mu.Lock()
		defer e.hook.mu.Unlock()
		return len(e.hook.keys) == len(batch)
	})
	e.run(t, delivery.Config{})
	// Well within the 60 s rebalance timeout after which a blocking member
	// would be kicked out.
	waitMembersWithin(t, e, 2, 30*time.Second)
	e.hook.status.Store(0)
	e.hook.waitFor(t, ids(batch)...)
	e.settle(t)
	for _, id := range ids(batch) {
		if n := e.hook.count(id); n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
}

func waitMembers(t *testing.T, e *env, n int) { t.Helper(); waitMembersWithin(t, e, n, 60*time.Second) }

// waitMembersWithin waits until the sink group is stable with n members,
// each owning a partition.
func waitMembersWithin(t *testing.T, e *env, n int, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	for {
		gs, err := adm.DescribeGroups(ctx, "sluice-sink-hook")
		if err == nil {
			g := gs["sluice-sink-hook"]
			owning := 0
			for _, m := range g.Members {
				if a, ok := m.Assigned.AsConsumer(); ok && len(a.Topics) > 0 {
					owning++
				}
			}
			if g.State == "Stable" && len(g.Members) == n && owning == n {
				return
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the group never became stable with %d members owning partitions", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
