package main

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	// crashUsers send the load; crashClients are SDK instances, one client each.
	crashUsers   = 300
	crashClients = 4
	// crashSettleLimit bounds the wait for delivery after the load stops
	// (liveness); crashQuiet ends it early once nothing has moved that long:
	// longer than a crashed router's open transaction may hold delivery up
	// (router.Config.TransactionTimeout, 1 minute).
	crashSettleLimit = 180 * time.Second
	crashQuiet       = 90 * time.Second
	// killInFlight is the mode of a kill while a webhook request waits.
	killInFlight = "webhook request in flight"
)

// crashKill is one SIGKILL of the whole dev process and its restart.
type crashKill struct {
	n       int
	mode    string        // where the kill fell
	at      time.Time     // when the process was gone
	toReady time.Duration // restart to /readyz 200
}

// TestCrashSoak is the crash proof of guarantee 4 (DESIGN "Nothing lost,
// nothing doubled"). `sluice dev` runs as an OS process with the default
// ClickHouse warehouse and a webhook destination served by the test, while
// @segment/analytics-node clients send steady traffic from many users. The
// whole process is killed with SIGKILL at random moments, every other time
// while a webhook request is in flight (delivered, not yet answered), and
// started again on the same data dir. After the load stops and delivery
// settles: every acknowledged event is in ClickHouse and at the webhook; no
// message_id has two rows in any warehouse table (plain SELECT, no FINAL);
// no messageId reached the webhook under two Idempotency-Keys (copies under
// the same key are retries a receiver drops, and are only counted).
//
// SLUICE_CRASH_KILLS (default 5) sets the number of kills; a soak uses 20 or
// more. SLUICE_CRASH_RATE (events/s, default 300) sets the load and
// SLUICE_CRASH_SEED replays the kill timings of a logged run.
func TestCrashSoak(t *testing.T) {
	kills := int(envInt(t, "SLUICE_CRASH_KILLS", 5))
	rate := envInt(t, "SLUICE_CRASH_RATE", 300)
	seed := envInt(t, "SLUICE_CRASH_SEED", time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	dir := compatScriptDir(t)
	bin := buildSluice(t)
	tmp := t.TempDir()
	hook := startHookReceiver(t)
	config := filepath.Join(tmp, "sluice.yaml")
	writeFile(t, config, crashConfig(hook.url()))
	stack := &crashStack{bin: bin, tmp: tmp, dataDir: filepath.Join(tmp, "data"), config: config,
		apiAddr: freeLoopbackAddr(t), metricsAddr: freeLoopbackAddr(t)}
	firstReady := stack.start(t)

	load := startLoad(t, dir, tmp, slices.Repeat([]string{stack.apiURL()}, crashClients),
		"SLUICE_USERS="+strconv.Itoa(crashUsers), "SLUICE_RATE="+strconv.FormatInt(rate, 10),
		"SLUICE_MIN_MS=0", "SLUICE_MAX_MS="+strconv.Itoa(int(time.Hour.Milliseconds())))
	waitFor(t, "the first rows in ClickHouse and the first webhook request", mpReadyLimit, func() (bool, string) {
		rows, _ := stack.ch.rowsOf(t, nil)
		reqs := hook.tally(nil).requests
		return rows > 0 && reqs > 0, fmt.Sprintf("%d rows, %d webhook requests", rows, reqs)
	})

	var record []crashKill
	for n := 1; n <= kills; n++ {
		time.Sleep(time.Second + time.Duration(rng.Int64N(int64(3*time.Second))))
		k := crashKill{n: n, mode: "random instant"}
		if n%2 == 0 {
			k.mode = killDuringDelivery(t, stack, hook)
		} else {
			stack.kill(t)
		}
		k.at = time.Now()
		k.toReady = stack.start(t)
		record = append(record, k)
		if !load.running() {
			t.Fatalf("the load script ended early: %v\n%s", load.exitErr, logTail(load.logPath, 20))
		}
	}
	time.Sleep(3 * time.Second) // traffic after the last restart too
	res := load.finish(t)
	stoppedAt := time.Now()

	want := map[string]ackedEvent{}
	for _, ev := range res.Acked {
		want[ev.MessageID] = ev
	}
	settleDelivery(t, stack.ch, hook, want)
	settled := time.Since(stoppedAt)

	// Nothing lost.
	var lostCH, lostHook []string
	inCH := stack.ch.messageIDs(t)
	for id, ev := range want {
		what := fmt.Sprintf("%s (%s %s, acknowledged at %s)", id, ev.Type, ev.UserID, time.UnixMilli(ev.At).Format("15:04:05.000"))
		if inCH[id] == 0 {
			lostCH = append(lostCH, what)
		}
		if !hook.has(id) {
			lostHook = append(lostHook, what)
		}
	}
	for name, lost := range map[string][]string{"ClickHouse": lostCH, "the webhook": lostHook} {
		if len(lost) > 0 {
			slices.Sort(lost)
			t.Errorf("%d acknowledged events never reached %s, e.g.:\n%s", len(lost), name, strings.Join(lost[:min(len(lost), 20)], "\n"))
		}
	}
	if len(res.Failures) > 0 {
		t.Errorf("the SDK gave up on %d events, e.g. %v", len(res.Failures), res.Failures[:min(len(res.Failures), 5)])
	}
	if p := hook.problemList(); len(p) > 0 {
		t.Errorf("the webhook received %d malformed requests, e.g. %v", len(p), p[:min(len(p), 3)])
	}

	// Nothing doubled.
	chDups := warehouseDuplicates(t, stack.ch)
	tally := hook.tally(want)
	recut, copies := splitManyKeys(hook, tally.manyKeys)
	slices.Sort(recut)
	slices.Sort(copies)
	blame := blameKills(record, chDups, hook, recut, copies)
	if len(chDups) > 0 {
		t.Errorf("message_ids with more than one row (plain SELECT):\n%s", describeWarehouseDuplicates(t, stack.ch, chDups))
	}
	if len(tally.manyKeys) > 0 {
		t.Errorf("%d messageIds reached the webhook under more than one Idempotency-Key (%d re-cut batches, %d from another offset):\n%s",
			len(tally.manyKeys), len(recut), len(copies), describeHookDuplicates(hook, slices.Concat(copies[:min(len(copies), 5)], recut[:min(len(recut), 5)])))
	}
	if len(tally.inOneBatch) > 0 {
		t.Errorf("%d messageIds came twice in one webhook request (two records of one event, one key), e.g. %v",
			len(tally.inOneBatch), tally.inOneBatch[:min(len(tally.inOneBatch), 5)])
	}

	// Figures.
	var readies []string
	for _, k := range record {
		readies = append(readies, k.toReady.Round(time.Millisecond).String())
	}
	inFlight := 0
	for _, k := range record {
		if k.mode == killInFlight {
			inFlight++
		}
	}
	t.Logf("seed %d (SLUICE_CRASH_SEED replays the kill timings); %d kills of the whole process, %d of them while a webhook request was in flight",
		seed, len(record), inFlight)
	t.Logf("start to ready (/readyz 200): first %v; after each kill: %s", firstReady.Round(time.Millisecond), strings.Join(readies, ", "))
	t.Logf("SDK (%d clients, %d users, %d events/s asked): %d events sent over %v, %d acknowledged, responses %v, %d failures",
		crashClients, crashUsers, rate, res.Sent, time.UnixMilli(res.StoppedAt).Sub(time.UnixMilli(res.StartedAt)).Round(time.Second),
		len(res.Acked), res.Statuses, len(res.Failures))
	t.Logf("delivery settled %v after the load stopped; ClickHouse %s; webhook %d requests, %d event deliveries",
		settled.Round(time.Second), stack.ch.perTable(t), tally.requests, tally.deliveries)
	t.Logf("lost: %d in ClickHouse, %d at the webhook; doubled: %d message_ids with extra rows in ClickHouse (%d extra rows), "+
		"%d messageIds at the webhook under several keys (%d re-cut, %d from another offset), %d twice in one request; "+
		"%d webhook re-deliveries under the same key (allowed retries)",
		len(lostCH), len(lostHook), len(chDups), extraRows(chDups), len(tally.manyKeys), len(recut), len(copies),
		len(tally.inOneBatch), tally.retries-len(tally.inOneBatch))
	t.Logf("kills followed by duplicates: %d of %d%s", blame.kills(), len(record), blame.String(record))
}

// killDuringDelivery waits for the next webhook request, kills the process
// while that request waits for its answer, and then lets the answer go (to a
// dead connection). It returns where the kill fell.
func killDuringDelivery(t *testing.T, stack *crashStack, hook *hookReceiver) string {
	t.Helper()
	release := make(chan struct{})
	defer close(release)
	mode := killInFlight
	select {
	case <-hook.holdNext(release):
	case <-time.After(30 * time.Second):
		mode = "random instant (no webhook request came within 30s)"
	}
	stack.kill(t)
	return mode
}

// settleDelivery waits until every wanted event is in ClickHouse and at the
// webhook and the counts hold still for two seconds, or until nothing has
// moved for crashQuiet, or crashSettleLimit (liveness bounds: the
// assertions that follow say what is missing).
func settleDelivery(t *testing.T, ch clickhouse, hook *hookReceiver, want map[string]ackedEvent) {
	t.Helper()
	deadline := time.Now().Add(crashSettleLimit)
	last, since := "", time.Now()
	for time.Now().Before(deadline) {
		rows, present := ch.rowsOf(t, want)
		tl := hook.tally(want)
		state := fmt.Sprintf("%d rows, %d of %d in ClickHouse; %d deliveries, %d of %d at the webhook",
			rows, present, len(want), tl.deliveries, tl.present, len(want))
		if state != last {
			last, since = state, time.Now()
		}
		still := time.Since(since)
		if present == len(want) && tl.present == len(want) && still >= 2*time.Second || still >= crashQuiet {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("delivery still moving after %s: %s", crashSettleLimit, last)
}
