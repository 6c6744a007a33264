package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/regulator"
)

const (
	mpWriteKey        = "wk_multiprocess"
	mpAdminToken      = "multiprocess-admin-token"
	mpShutdownTimeout = 15 * time.Second
	mpKEKEnv          = "SLUICE_KEK_MULTIPROCESS"
	mpUsers           = 100
	// mpReadyLimit bounds each process's start (liveness, not a measurement).
	mpReadyLimit = 90 * time.Second
)

// mpSuppressed are the users filed for SUPPRESS_WITH_DELETE mid-traffic; the
// load script gives user n the anonymousId anon-n on its identify calls.
var mpSuppressed = []string{"u-007", "u-023", "u-042", "u-066", "u-091"}

// mpCoreTables are the event tables, one row per event.
var mpCoreTables = []string{"tracks", "identifies", "pages", "screens", "groups", "aliases"}

// TestManyProcesses is the multi-process proof that the production roles are
// safe in many copies (DESIGN "Processes": no role may assume it is alone).
// `sluice dev --roles none --kafka-brokers 3` is the cluster (three brokers)
// and the warehouse; nine `sluice
// run` processes (2 api, 3 router, 2 sink, 2 regulator) share the work. The
// real @segment/analytics-node SDK sends traffic through both APIs while a
// router and a sink are killed with SIGKILL, another router is stopped with
// SIGTERM, replacements start, and a SUPPRESS_WITH_DELETE is filed. At the
// end: every acknowledged event of the other users is in ClickHouse exactly
// once, nothing of the suppressed users is there, and the regulation
// FINISHED having deleted once.
func TestManyProcesses(t *testing.T) {
	dir := compatScriptDir(t)
	bin := buildSluice(t)
	tmp := t.TempDir()
	// Every process wraps and unwraps the subjects' data keys with one KEK.
	kek := make([]byte, 32)
	rand.Read(kek)
	t.Setenv(mpKEKEnv, hex.EncodeToString(kek))

	// The cluster and the warehouse.
	devConfig := filepath.Join(tmp, "dev.yaml")
	writeFile(t, devConfig, mpConfig("", ""))
	dev := startProc(t, bin, tmp, "dev", "dev", "--data-dir", filepath.Join(tmp, "data"), "--config", devConfig,
		"--roles", "none", "--kafka-addr", "127.0.0.1:0", "--kafka-brokers", "3", "--clickhouse-addr", "127.0.0.1:0", "--admin-token", mpAdminToken)
	line := dev.waitLine(t, mpReadyLimit)
	devReady := time.Since(dev.started)
	m := regexp.MustCompile(`kafka (\S+)  clickhouse (http://(\S+))`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("dev ready line %q: want kafka and clickhouse addresses", line)
	}
	kafka, chURL, chAddr := m[1], m[2], m[3]
	ch := clickhouseAt(chURL)
	runConfig := filepath.Join(tmp, "run.yaml")
	writeFile(t, runConfig, mpConfig(kafka, chAddr))

	// The role processes.
	var procs []*roleProcess
	start := func(name, roles string) *roleProcess {
		p := startRole(t, bin, tmp, name, runConfig, roles)
		procs = append(procs, p)
		return p
	}
	apis := []*roleProcess{start("api-1", "api"), start("api-2", "api")}
	routers := []*roleProcess{start("router-1", "router"), start("router-2", "router"), start("router-3", "router")}
	sinks := []*roleProcess{start("sink-1", "sink"), start("sink-2", "sink")}
	regulators := []*roleProcess{start("regulator-1", "regulator"), start("regulator-2", "regulator")}
	for _, p := range slices.Concat(apis, routers, sinks, regulators) {
		p.waitReady(t, mpReadyLimit)
	}

	// Traffic through both APIs, until told to stop.
	load := startLoad(t, dir, tmp, []string{apis[0].api, apis[1].api})
	time.Sleep(6 * time.Second)
	// The deletion must have rows to delete: wait until every user to be
	// suppressed has rows in the warehouse.
	waitFor(t, "rows of every user to suppress in ClickHouse", 90*time.Second, func() (bool, string) {
		out := ch.query(t, "SELECT uniqExact(user_id) FROM ("+unionOf("user_id", "user_id IN "+sqlList(mpSuppressed))+")")
		return out == strconv.Itoa(len(mpSuppressed)), out + " users with rows"
	})
	if !load.running() {
		t.Fatalf("the load script ended early: %v\n%s", load.exitErr, logTail(load.logPath, 20))
	}

	// Churn: SIGKILL a router and a sink, SIGTERM another router, start
	// replacements, and file the regulation meanwhile.
	churnAt := time.Since(load.started)
	routers[0].signal(syscall.SIGKILL)
	sinks[0].signal(syscall.SIGKILL)
	routers[1].signal(syscall.SIGTERM)
	termAt := time.Now()
	replacements := []*roleProcess{start("router-4", "router"), start("sink-3", "sink"), start("router-5", "router")}

	subjects, _ := json.Marshal(mpSuppressed)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, apis[0].api+"/v1/regulations",
		strings.NewReader(`{"regulationType":"SUPPRESS_WITH_DELETE","subjectType":"USER_ID","subjectIds":`+string(subjects)+`}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+mpAdminToken)
	code, body, err := doRequest(req)
	suppressedAt := time.Now() // the acknowledgement has arrived
	if err != nil || code != http.StatusOK {
		t.Fatalf("POST /v1/regulations through api-1: %d %s %v", code, body, err)
	}
	var filed struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &filed); err != nil || filed.ID == "" {
		t.Fatalf("POST /v1/regulations answered %s: want {\"id\"}", body)
	}

	// The SIGTERMed router drains, commits and exits 0 within its
	// --shutdown-timeout (plus a margin for process exit: a liveness bound).
	if !routers[1].waitExit(mpShutdownTimeout + 15*time.Second) {
		t.Fatalf("router-2 did not exit within %s of SIGTERM (--shutdown-timeout %s)", mpShutdownTimeout+15*time.Second, mpShutdownTimeout)
	}
	termTook := routers[1].exitedAt.Sub(termAt)
	if c, sig := exitStatus(routers[1].exitErr); c != 0 {
		t.Errorf("router-2 exited with %d %s after SIGTERM, want 0", c, sig)
	}
	for _, p := range replacements {
		p.waitReady(t, mpReadyLimit)
	}

	// Keep sending for a while after the acknowledgement, so that the
	// suppression is tested by new events too; then stop the load.
	time.Sleep(max(time.Until(load.started.Add(25*time.Second)), time.Until(suppressedAt.Add(8*time.Second))))
	res := load.finish(t)

	// The regulation, read through the other API.
	var reg regulator.Regulation
	waitFor(t, "the regulation to end", 150*time.Second, func() (bool, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, apis[1].api+"/v1/regulations/"+filed.ID, nil)
		req.Header.Set("Authorization", "Bearer "+mpAdminToken)
		code, body, err := doRequest(req)
		if err != nil || code != http.StatusOK {
			return false, fmt.Sprintf("GET: %d %s %v", code, body, err)
		}
		reg = regulator.Regulation{}
		if err := json.Unmarshal([]byte(body), &reg); err != nil {
			t.Fatalf("GET /v1/regulations/%s: %v: %s", filed.ID, err, body)
		}
		return reg.OverallStatus.Terminal(), body
	})
	checkRegulation(t, &reg)

	// Every acknowledged event of the other users arrives; the row count
	// then holds still for a few polls (late duplicates would show).
	suppressed := map[string]bool{}
	for _, u := range mpSuppressed {
		suppressed[u] = true
	}
	want := map[string]ackedEvent{}
	var suppressedBefore, suppressedAfter int
	for _, ev := range res.Acked {
		switch {
		case !suppressed[ev.UserID]:
			want[ev.MessageID] = ev
		case time.UnixMilli(ev.At).Before(suppressedAt):
			suppressedBefore++
		default:
			suppressedAfter++
		}
	}
	lastRows, still := -1, 0
	waitFor(t, "every acknowledged event in ClickHouse and the row count to hold still", 150*time.Second, func() (bool, string) {
		rows, present := ch.rowsOf(t, want)
		if rows == lastRows && present == len(want) {
			still++
		} else {
			still = 0
		}
		lastRows = rows
		return still >= 4, fmt.Sprintf("%d rows, %d of %d acknowledged events of other users present", rows, present, len(want))
	})

	// What each role cost over the run, for the sizing in docs/deploy.md:
	// CPU of every process of the role per acknowledged event (each event
	// passes the api, a router and a sink once), and peak memory.
	costs := map[string]*usage{}
	for _, p := range procs {
		u, ok := procUsage(p.cmd.Process.Pid)
		if !ok || !p.running() {
			continue
		}
		role := strings.TrimRight(p.name, "-0123456789")
		if costs[role] == nil {
			costs[role] = &usage{}
		}
		costs[role].cpu += u.cpu
		costs[role].peakRSS = max(costs[role].peakRSS, u.peakRSS)
	}
	for _, role := range []string{"api", "router", "sink", "regulator"} {
		if c := costs[role]; c != nil && len(res.Acked) > 0 {
			t.Logf("cost of the %s processes still running: CPU %v in all, %.0f µs per acknowledged event; peak RSS of one process %d MiB",
				role, c.cpu, float64(c.cpu.Microseconds())/float64(len(res.Acked)), c.peakRSS>>20)
		}
	}

	// Every role process stops cleanly: SIGTERM, exit 0.
	var live []*roleProcess
	for _, p := range procs {
		if p.running() {
			live = append(live, p)
			p.signal(syscall.SIGTERM)
		}
	}
	for _, p := range live {
		if !p.waitExit(mpShutdownTimeout + 15*time.Second) {
			t.Errorf("%s did not exit within %s of SIGTERM (liveness bound)", p.name, mpShutdownTimeout+15*time.Second)
			continue
		}
		if c, sig := exitStatus(p.exitErr); c != 0 {
			t.Errorf("%s exited with %d %s after SIGTERM, want 0", p.name, c, sig)
		}
	}

	// Nothing lost, nothing doubled.
	dups := ch.query(t, "SELECT message_id, count() AS n FROM ("+unionOf("message_id", "1")+") GROUP BY message_id HAVING n > 1 ORDER BY message_id FORMAT TSV")
	if dups != "" {
		ids := strings.Fields(dups)
		t.Errorf("messageIds in ClickHouse more than once (messageId, rows):\n%s\nwhere they came from:\n%s", dups,
			ch.query(t, "SELECT message_id, kafka_topic, kafka_partition, kafka_offset, loaded_at FROM ("+
				unionOf("message_id, kafka_topic, kafka_partition, kafka_offset, loaded_at", "message_id IN "+sqlList(ids[:min(len(ids), 40)]))+
				") ORDER BY message_id, loaded_at FORMAT TSV"))
	}
	inCH := ch.messageIDs(t)
	var missing []string
	for id, ev := range want {
		if inCH[id] == 0 {
			missing = append(missing, fmt.Sprintf("%s (%s %s, acknowledged by api-%d at %s)", id, ev.Type, ev.UserID, ev.API+1, time.UnixMilli(ev.At).Format("15:04:05.000")))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("%d acknowledged events are not in ClickHouse, e.g.:\n%s", len(missing), strings.Join(missing[:min(len(missing), 20)], "\n"))
	}
	if len(res.Failures) > 0 {
		t.Errorf("the SDK reports %d events as not delivered, e.g. %v", len(res.Failures), res.Failures[:min(len(res.Failures), 5)])
	}

	// Nothing of the suppressed users anywhere in the warehouse.
	left := ch.subjectRows(t)
	if left != "" {
		t.Errorf("rows of suppressed users remain (table, rows): %s", left)
	}
	if suppressedBefore == 0 || suppressedAfter == 0 {
		t.Errorf("the suppressed users had %d events acknowledged before the suppression and %d after: the test needs both", suppressedBefore, suppressedAfter)
	}

	// The regulation deleted once: one lightweight DELETE per table its
	// receipt names, none elsewhere.
	deletes := ch.deletes(t)
	var deleted []string
	if d := destinationOf(&reg, "warehouse"); d != nil && d.Receipt != nil {
		for _, tr := range d.Receipt.Tables {
			if tr.RowsBefore > 0 {
				deleted = append(deleted, tr.Table)
			}
		}
	}
	for table, n := range deletes {
		if n != 1 || !slices.Contains(deleted, table) {
			t.Errorf("table %s had %d lightweight DELETEs; the warehouse receipt deleted from %v: want exactly one per table it deleted from", table, n, deleted)
		}
	}
	for _, table := range deleted {
		if deletes[table] == 0 {
			t.Errorf("the receipt says %s was deleted from, but system.mutations has no lightweight DELETE there", table)
		}
	}

	// Figures.
	t.Logf("time to ready from process start: dev (engines, ready line) %v; roles (/readyz 200):", devReady.Round(time.Millisecond))
	for _, p := range procs {
		t.Logf("  %-12s %v", p.name, p.readyAfter.Round(time.Millisecond))
	}
	t.Logf("%v into the traffic: SIGKILL router-1 and sink-1, SIGTERM router-2 (exited 0 after %v; --shutdown-timeout %s), replacements started, regulation filed",
		churnAt.Round(time.Second), termTook.Round(time.Millisecond), mpShutdownTimeout)
	t.Logf("SDK: %d events sent over %v, %d acknowledged (2xx), responses %v, %d failures",
		res.Sent, time.UnixMilli(res.StoppedAt).Sub(time.UnixMilli(res.StartedAt)).Round(time.Second), len(res.Acked), res.Statuses, len(res.Failures))
	t.Logf("suppressed users: %d events acknowledged before the suppression's acknowledgement, %d after", suppressedBefore, suppressedAfter)
	total := 0
	for _, n := range inCH {
		total += n
	}
	t.Logf("ClickHouse: %d rows (%s); %d acknowledged events of other users expected, %d missing, %d messageIds doubled",
		total, ch.perTable(t), len(want), len(missing), len(strings.Fields(dups))/2)
	if d := destinationOf(&reg, "warehouse"); d != nil && d.Receipt != nil && reg.FinishedAt != nil {
		t.Logf("regulation %s %s %v after filing; warehouse: %s rows deleted by %d statements (batch %+v), %s left; attempts %d",
			reg.ID, reg.OverallStatus, reg.FinishedAt.Sub(reg.CreatedAt).Round(time.Millisecond), ptrString(d.Receipt.RowsBefore), len(d.Receipt.Statements),
			ptrValue(d.Receipt.Batch), ptrString(d.Receipt.RowsAfter), reg.Attempts+d.Attempts)
	}
	var steps []string
	for _, st := range reg.Steps {
		if st.FinishedAt != nil {
			steps = append(steps, fmt.Sprintf("%s +%v", st.Name, st.FinishedAt.Sub(reg.CreatedAt).Round(time.Millisecond)))
		}
	}
	t.Logf("regulation steps finished (from filing): %s", strings.Join(steps, ", "))
	t.Logf("lightweight DELETEs per table (system.mutations): %v", deletes)
}

// checkRegulation checks what a finished regulation's record exposes: every
// step and destination FINISHED, one batch holding only this regulation, and
// zero rows left by the destination's delete and by the final count.
func checkRegulation(t *testing.T, reg *regulator.Regulation) {
	t.Helper()
	if reg.OverallStatus != regulator.Finished {
		rec, _ := json.MarshalIndent(reg, "", "  ")
		t.Fatalf("regulation %s ended %s, want FINISHED:\n%s", reg.ID, reg.OverallStatus, rec)
	}
	for _, st := range reg.Steps {
		if st.Status != regulator.Finished {
			t.Errorf("step %s: %s (%s), want FINISHED", st.Name, st.Status, st.Error)
		}
	}
	d := destinationOf(reg, "warehouse")
	switch {
	case d == nil || len(reg.Destinations) != 1:
		t.Fatalf("regulation destinations %+v: want warehouse alone", reg.Destinations)
	case d.Status != regulator.Finished || d.Receipt == nil:
		t.Fatalf("warehouse: %s (%s), receipt %+v: want FINISHED with a receipt", d.Status, d.Error, d.Receipt)
	}
	rc := d.Receipt
	if rc.Batch == nil || rc.Batch.Regulations != 1 || rc.Batch.Subjects < len(mpSuppressed) {
		t.Errorf("warehouse receipt batch %+v: want one regulation and its %d users (and their linked anonymousIds)", ptrValue(rc.Batch), len(mpSuppressed))
	}
	if rc.RowsBefore == nil || *rc.RowsBefore == 0 || rc.RowsAfter == nil || *rc.RowsAfter != 0 {
		t.Errorf("warehouse receipt rows before %s, after %s: want some deleted, none left", ptrString(rc.RowsBefore), ptrString(rc.RowsAfter))
	}
	st := stepOf(reg, regulator.StepClickHouse)
	if st == nil || st.Receipt == nil || st.Receipt.RowsAfter == nil || *st.Receipt.RowsAfter != 0 {
		t.Errorf("clickhouse step %+v: want a receipt with zero rows after", st)
	} else if ptrString(st.Receipt.RowsBefore) != ptrString(rc.RowsBefore) {
		// Both counts come after the in-flight wait, under suppression:
		// no row of the subjects may arrive between them.
		t.Errorf("the clickhouse step counted %s rows before deleting, the warehouse's delete found %s",
			ptrString(st.Receipt.RowsBefore), ptrString(rc.RowsBefore))
	}
}

// mpConfig is the workspace of the test: one source, one ClickHouse
// destination, six partitions, topics sealed with the KEK in mpKEKEnv;
// kafka (comma-separated brokers) and addr are left out for `sluice dev`.
func mpConfig(kafka, chAddr string) string {
	var b strings.Builder
	b.WriteString("workspace: acme\npartitions: 6\n")
	fmt.Fprintf(&b, "encryption: {keks: [{id: k1, secretEnv: %s}], current: k1}\n", mpKEKEnv)
	if kafka != "" {
		b.WriteString("kafka:\n  brokers:\n")
		for _, addr := range strings.Split(kafka, ",") {
			fmt.Fprintf(&b, "    - %q\n", addr)
		}
	}
	fmt.Fprintf(&b, "sources:\n  - name: web\n    writeKey: %s\n", mpWriteKey)
	b.WriteString("destinations:\n  - name: warehouse\n    type: clickhouse\n")
	if chAddr != "" {
		fmt.Fprintf(&b, "    settings: {addr: %q, database: sluice}\n", chAddr)
	} else {
		b.WriteString("    settings: {database: sluice}\n")
	}
	return b.String()
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond every 500ms until it holds; limit is a liveness bound.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s (liveness bound); last: %s", limit, what, state)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// compatScriptDir is testenv/compat, with Node and the SDK installed.
func compatScriptDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "testenv", "compat"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is not on PATH: this test drives the real @segment/analytics-node SDK and needs Node.js 20 or later")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@segment", "analytics-node", "package.json")); err != nil {
		t.Fatalf("@segment/analytics-node is not installed in %s: run `npm ci` there (the Makefile does): %v", dir, err)
	}
	return dir
}

// ackedEvent is an event an API acknowledged, as load_node.mjs reports it.
type ackedEvent struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Type      string `json:"type"`
	At        int64  `json:"at"` // ms since the epoch
	API       int    `json:"api"`
}

type loadResult struct {
	Acked     []ackedEvent   `json:"acked"`
	Sent      int            `json:"sent"`
	Statuses  map[string]int `json:"statuses"`
	Failures  []string       `json:"failures"`
	StartedAt int64          `json:"startedAt"`
	StoppedAt int64          `json:"stoppedAt"`
}

// loadProcess is the running load script; closing its stdin stops it.
type loadProcess struct {
	*osProcess
	stdin  interface{ Close() error }
	stdout *bytes.Buffer
}

// startLoad runs load_node.mjs against the API base URLs; env (NAME=value)
// overrides its settings, e.g. "SLUICE_RATE=400".
func startLoad(t *testing.T, dir, tmp string, apis []string, env ...string) *loadProcess {
	t.Helper()
	logf, err := os.Create(filepath.Join(tmp, "load_node.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "load_node.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_HOSTS="+strings.Join(apis, ","), "SLUICE_WRITE_KEY="+mpWriteKey,
		"SLUICE_USERS="+strconv.Itoa(mpUsers), "SLUICE_RATE=40", "SLUICE_MIN_MS=20000", "SLUICE_MAX_MS=120000")
	cmd.Env = append(cmd.Env, env...) // the last of a duplicated name wins
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	l := &loadProcess{stdin: stdin, stdout: new(bytes.Buffer)}
	cmd.Stdout, cmd.Stderr = l.stdout, logf
	l.osProcess = &osProcess{name: "load_node", cmd: cmd, logPath: logf.Name(), done: make(chan struct{}), started: time.Now()}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node load_node.mjs: %v", err)
	}
	go func() {
		err := cmd.Wait()
		logf.Close()
		l.exitErr, l.exitedAt = err, time.Now()
		close(l.done)
	}()
	t.Cleanup(func() {
		if l.running() {
			_ = cmd.Process.Kill()
			<-l.done
		}
		if t.Failed() {
			t.Logf("--- load_node.mjs: last lines of its log:\n%s", logTail(l.logPath, 20))
		}
	})
	return l
}

// finish tells the script to stop, waits for its flush and reads its report.
func (l *loadProcess) finish(t *testing.T) loadResult {
	t.Helper()
	l.stdin.Close()
	if !l.waitExit(90 * time.Second) {
		t.Fatalf("load_node.mjs did not finish within 90s of being told to stop (liveness bound)\n%s", logTail(l.logPath, 20))
	}
	if l.exitErr != nil {
		t.Fatalf("load_node.mjs: %v\n%s", l.exitErr, logTail(l.logPath, 20))
	}
	var res loadResult
	if err := json.Unmarshal(l.stdout.Bytes(), &res); err != nil {
		t.Fatalf("load_node.mjs output %.300q: %v", l.stdout.String(), err)
	}
	return res
}

// clickhouse is the warehouse's HTTP interface.
type clickhouse struct{ url string }

func clickhouseAt(u string) clickhouse { return clickhouse{u} }

// query runs one statement and returns its trimmed text answer.
func (c clickhouse) query(t *testing.T, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.url+"/?database=sluice", strings.NewReader(sql))
	code, body, err := doRequest(req)
	if err != nil || code != http.StatusOK {
		t.Fatalf("ClickHouse %q: %d %s %v", sql, code, body, err)
	}
	return body
}

// messageIDs counts the rows of every messageId in the event tables.
func (c clickhouse) messageIDs(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	for line := range strings.Lines(c.query(t, "SELECT message_id, count() FROM ("+unionOf("message_id", "1")+") GROUP BY message_id FORMAT TSV")) {
		id, n, _ := strings.Cut(strings.TrimSpace(line), "\t")
		out[id], _ = strconv.Atoi(n)
	}
	return out
}

// rowsOf returns the rows of the event tables and how many of want are there.
func (c clickhouse) rowsOf(t *testing.T, want map[string]ackedEvent) (rows, present int) {
	t.Helper()
	for id, n := range c.messageIDs(t) {
		rows += n
		if _, ok := want[id]; ok {
			present++
		}
	}
	return rows, present
}

// perTable renders each event table's row count.
func (c clickhouse) perTable(t *testing.T) string {
	t.Helper()
	var parts []string
	for _, table := range mpCoreTables {
		parts = append(parts, table+" "+c.query(t, "SELECT count() FROM "+table))
	}
	return strings.Join(parts, ", ")
}

// subjectRows counts the suppressed users' rows, by userId or by their
// anonymousIds, in every table of the database that has those columns;
// "" when there are none.
func (c clickhouse) subjectRows(t *testing.T) string {
	t.Helper()
	var anons []string
	for _, u := range mpSuppressed {
		n, _ := strconv.Atoi(strings.TrimPrefix(u, "u-"))
		anons = append(anons, "anon-"+strconv.Itoa(n))
	}
	cols := map[string][]string{}
	for line := range strings.Lines(c.query(t, "SELECT table, name FROM system.columns WHERE database = 'sluice' AND name IN ('user_id', 'anonymous_id', 'previous_id') FORMAT TSV")) {
		table, col, _ := strings.Cut(strings.TrimSpace(line), "\t")
		cols[table] = append(cols[table], col)
	}
	if len(cols) < len(mpCoreTables) {
		t.Fatalf("system.columns lists %v: want at least the event tables", cols)
	}
	var left []string
	for _, table := range slices.Sorted(maps.Keys(cols)) {
		var terms []string
		for _, col := range cols[table] {
			terms = append(terms, col+" IN "+sqlList(append(slices.Clone(mpSuppressed), anons...)))
		}
		if n := c.query(t, "SELECT count() FROM "+table+" WHERE "+strings.Join(terms, " OR ")); n != "0" {
			left = append(left, table+" "+n)
		}
	}
	return strings.Join(left, ", ")
}

// deletes counts, per table, the lightweight DELETEs the warehouse ran (a
// lightweight DELETE is the mutation UPDATE _row_exists = 0 WHERE …). The
// test files one regulation and nothing else deletes, so each is its.
func (c clickhouse) deletes(t *testing.T) map[string]int {
	t.Helper()
	out := map[string]int{}
	sql := "SELECT table, count() FROM system.mutations WHERE database = 'sluice' AND position(command, '_row_exists = 0') > 0 GROUP BY table FORMAT TSV"
	for line := range strings.Lines(c.query(t, sql)) {
		table, n, _ := strings.Cut(strings.TrimSpace(line), "\t")
		out[table], _ = strconv.Atoi(n)
	}
	return out
}

// unionOf selects cols from every event table WHERE where, as one relation.
func unionOf(cols, where string) string {
	parts := make([]string, len(mpCoreTables))
	for i, table := range mpCoreTables {
		parts[i] = "SELECT " + cols + " FROM " + table + " WHERE " + where
	}
	return strings.Join(parts, " UNION ALL ")
}

func sqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func sqlList(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = sqlString(id)
	}
	return "(" + strings.Join(q, ", ") + ")"
}

// destinationOf returns the named destination's status, or nil.
func destinationOf(reg *regulator.Regulation, name string) *regulator.DestinationStatus {
	for i := range reg.Destinations {
		if reg.Destinations[i].Name == name {
			return &reg.Destinations[i]
		}
	}
	return nil
}

// stepOf returns the named step, or nil.
func stepOf(reg *regulator.Regulation, name string) *regulator.Step {
	for i := range reg.Steps {
		if reg.Steps[i].Name == name {
			return &reg.Steps[i]
		}
	}
	return nil
}

func ptrString(p *int64) string {
	if p == nil {
		return "?"
	}
	return strconv.FormatInt(*p, 10)
}

func ptrValue[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
