package router_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sluicehq/sluice/processors/profiles"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

const (
	users  = 12
	rounds = 150
)

// identifyEvery is how often a round is an identify call rather than a
// track: its traits are {"r<round>":true,"last":<round>}.
const identifyEvery = 5

// sendRounds produces one event per user per round, messageIds "<user>:<round>".
func (e *env) sendRounds(t *testing.T, from, to int, between func(round int)) {
	t.Helper()
	for r := from; r < to; r++ {
		evs := make([]schemas.Event, 0, users)
		for u := range users {
			user := fmt.Sprintf("u%d", u)
			ev := event(user, fmt.Sprintf("%s:%d", user, r), "Ping", grantAll)
			if r%identifyEvery == 0 {
				ev.Type, ev.Event, ev.Properties = schemas.Identify, "", nil
				ev.Traits = fmt.Appendf(nil, `{"r%d":true,"last":%d}`, r, r)
			}
			evs = append(evs, ev)
		}
		e.produce(t, evs...)
		if between != nil {
			between(r)
		}
	}
}

// round parses the round out of a messageId.
func round(messageID string) int {
	n, _ := strconv.Atoi(messageID[strings.IndexByte(messageID, ':')+1:])
	return n
}

// checkExactlyOnceInOrder checks every user's events in one destination: each
// round once, none missing, in order; except suppressed, whose events after
// the suppression's acknowledgement must be absent.
func checkExactlyOnceInOrder(t *testing.T, d string, got *delivered, suppressed string, ackRound, total int) {
	t.Helper()
	for u := range users {
		user := fmt.Sprintf("u%d", u)
		msgs := got.byUser[user]
		last := -1
		for _, m := range msgs {
			r := round(m)
			if r <= last {
				t.Errorf("%s: %s out of order or duplicated: round %d after %d", d, user, r, last)
			}
			last = r
			if user == suppressed && r > ackRound {
				t.Errorf("%s: delivered %s of suppressed %s, sent after the suppression was acknowledged (round %d)", d, m, user, ackRound)
			}
		}
		if user != suppressed && len(msgs) != total {
			t.Errorf("%s: %s has %d events, want %d", d, user, len(msgs), total)
		}
	}
}

// A suppression acknowledged while traffic flows holds for every event sent
// after it, and everyone else's events arrive exactly once, in order.
func TestSuppressionWhileTrafficFlows(t *testing.T) {
	e := newEnv(t)
	e.startRouter(t)
	ackRound := -1
	e.sendRounds(t, 0, rounds, func(r int) {
		if r == rounds/3 {
			e.suppress(t, suppress.UserID, "u3")
			ackRound = r
		}
	})
	got := e.readDest(t, map[string]int{"stream": (users - 1) * rounds})
	for _, d := range e.dst {
		checkExactlyOnceInOrder(t, d, got[d], "u3", ackRound, rounds)
	}
}

// A router killed with SIGKILL in the middle of its transactions, then
// replaced, leaves every destination with each event exactly once, in order.
func TestCrashMidTransactionNoLossNoDuplicates(t *testing.T) {
	e := newEnv(t)
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+e.b.Addr())
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	first := child()
	e.sendRounds(t, 0, rounds/2, nil)
	// Let the first router get well into the traffic, then kill it while more flows.
	e.readDest(t, map[string]int{"stream": users * rounds / 8})
	e.sendRounds(t, rounds/2, rounds/2+10, nil)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()

	second := child()
	defer func() {
		second.Process.Signal(os.Interrupt)
		second.Wait()
	}()
	e.sendRounds(t, rounds/2+10, rounds, nil)
	got := e.readDest(t, map[string]int{"stream": users * rounds})
	for _, d := range e.dst {
		checkExactlyOnceInOrder(t, d, got[d], "", rounds, rounds)
	}
	// The replacement merged onto the profiles its predecessor committed.
	e.checkProfiles(t, rounds)
}

// checkProfiles checks every user's profile is the merge of all their
// identify calls of rounds before total, in order.
func (e *env) checkProfiles(t *testing.T, total int) {
	t.Helper()
	got := e.latest(t, names.Of(topics.Profiles))
	last := (total - 1) / identifyEvery * identifyEvery
	for u := range users {
		key := fmt.Sprintf("acme/u%d", u)
		p, err := profiles.Decode(got[key])
		if err != nil {
			t.Errorf("profile %s: %v (%q)", key, err, got[key])
			continue
		}
		var traits map[string]any
		if err := json.Unmarshal(p.Traits, &traits); err != nil {
			t.Fatal(err)
		}
		for r := 0; r < total; r += identifyEvery {
			if traits[fmt.Sprintf("r%d", r)] != true {
				t.Errorf("profile %s lacks the trait of round %d: %s", key, r, p.Traits)
				break
			}
		}
		if traits["last"] != float64(last) || len(traits) != total/identifyEvery+1 {
			t.Errorf("profile %s: last = %v, %d traits; want last = %d, %d traits", key, traits["last"], len(traits), last, total/identifyEvery+1)
		}
	}
}

// Members joining and leaving while traffic flows move partitions between
// them; every event still arrives once, in order per user, and profiles
// merge across the moves.
func TestRebalancesKeepOrderAndExactlyOnce(t *testing.T) {
	e := newEnv(t)
	stopFirst := e.startRouter(t)
	var stopSecond func()
	e.sendRounds(t, 0, rounds, func(r int) {
		switch r {
		case rounds / 4: // a second member joins: partitions split
			e.readDest(t, map[string]int{"stream": users * r / 2}) // mid-traffic
			stopSecond = e.startRouter(t)
			e.waitMembers(t, 2)
		case rounds / 2: // the first leaves: the second takes everything
			e.readDest(t, map[string]int{"stream": users * r / 2})
			stopFirst()
			e.waitMembers(t, 1)
		case 3 * rounds / 4: // a third joins the second
			e.readDest(t, map[string]int{"stream": users * r / 2})
			e.startRouter(t)
			e.waitMembers(t, 2)
		}
	})
	got := e.readDest(t, map[string]int{"stream": users * rounds})
	for _, d := range e.dst {
		checkExactlyOnceInOrder(t, d, got[d], "", rounds, rounds)
	}
	e.checkProfiles(t, rounds)
	stopSecond()
}
