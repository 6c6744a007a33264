package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/deadletters"
)

// webhookReceiver answers status (0: 200) and counts the messageIds it accepts.
type webhookReceiver struct {
	status atomic.Int32
	mu     sync.Mutex
	got    map[string]int
}

func (r *webhookReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if s := r.status.Load(); s != 0 {
		w.WriteHeader(int(s))
		return
	}
	var b struct{ Batch []struct{ MessageID string } }
	body, _ := io.ReadAll(req.Body)
	_ = json.Unmarshal(body, &b)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range b.Batch {
		r.got[e.MessageID]++
	}
}

func (r *webhookReceiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

// deadLetterStack runs every role on an embedded broker with one webhook
// destination, crm, posting to rcv; it returns the config file and the
// API's base URL.
func deadLetterStack(t *testing.T, ctx context.Context, rcv *webhookReceiver) (string, string) {
	t.Helper()
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)
	b := broker.ForTest(t)
	t.Setenv("SLUICE_TEST_KEK", strings.Repeat("ef", 32))
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	yaml := "workspace: acme\nkafka:\n  brokers: [" + b.Addr() + "]\n" +
		"encryption: {keks: [{id: k1, secretEnv: SLUICE_TEST_KEK}], current: k1}\n" +
		"sources: [{name: web, writeKey: wk_dl}]\n" +
		"destinations:\n  - name: crm\n    type: webhook\n    settings: {url: \"" + srv.URL + "/events\", batchWait: 20ms}\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := runSluice(ctx, "topics", "apply", "--config", path); err != nil {
		t.Fatalf("topics apply: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	errs := make(chan error, 1)
	cfg := topology.Config{Cluster: cluster.Plain(b.Addr()), Workspace: ws, APIListener: ln, AdminToken: "adm-boot", Roles: topology.AllRoles}
	go func() { errs <- topology.Run(runCtx, cfg, nil) }()
	t.Cleanup(func() {
		stop()
		if err := <-errs; err != nil {
			t.Errorf("the roles stopped with %v", err)
		}
	})
	return path, "http://" + ln.Addr().String()
}

// docCommands returns the `sluice deadletter` command lines of the sh
// blocks of a docs page, split into arguments (double quotes group), each
// without its trailing comment.
func docCommands(t *testing.T, page string) [][]string {
	t.Helper()
	f, err := os.Open(page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]string
	inSh := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
		case inSh && strings.HasPrefix(line, "sluice deadletter "):
			line, _, _ = strings.Cut(line, "  #")
			out = append(out, splitArgs(line)[1:])
		}
	}
	return out
}

// splitArgs splits a command line at spaces outside double quotes.
func splitArgs(line string) []string {
	var args []string
	var cur strings.Builder
	quoted, any := false, false
	for _, c := range line {
		switch {
		case c == '"':
			quoted, any = !quoted, true
		case c == ' ' && !quoted:
			if any {
				args = append(args, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(c)
			any = true
		}
	}
	if any {
		args = append(args, cur.String())
	}
	return args
}

// The commands docs/deadletters.md's walkthrough shows, run as written
// (with --api naming the test's API) against every role with a webhook that
// refused events and was fixed, one person suppressed meanwhile: list shows
// the dead letters, the dry run changes nothing, the replay delivers the
// other person's events exactly once and not the suppressed person's, and
// the audit trail names the operator.
func TestDeadLetterDocWalkthrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	rcv := &webhookReceiver{got: map[string]int{}}
	rcv.status.Store(http.StatusBadRequest)
	cfgPath, api := deadLetterStack(t, ctx, rcv)

	cmds := docCommands(t, "../../docs/deadletters.md")
	if len(cmds) < 4 {
		t.Fatalf("docs/deadletters.md shows %d sluice deadletter commands", len(cmds))
	}
	token, stderr, err := sluiceOut(ctx, "tokens", "create", "--config", cfgPath, "--holder", "ops@acme.com", "--role", "operator")
	if err != nil {
		t.Fatalf("tokens create: %v\n%s", err, stderr)
	}
	t.Setenv("SLUICE_ADMIN_TOKEN", strings.TrimSpace(token))

	var batch []string
	for _, id := range []string{"u1-1", "u1-2", "u2-1", "u2-2"} {
		u, _, _ := strings.Cut(id, "-")
		batch = append(batch, `{"type":"track","userId":"`+u+`","event":"Order Completed","messageId":"m-`+id+`"}`)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, api+"/v1/batch", strings.NewReader(`{"batch":[`+strings.Join(batch, ",")+`]}`))
	req.SetBasicAuth("wk_dl", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("batch: %v %v", resp, err)
	}
	resp.Body.Close()
	for {
		out, _, err := sluiceOut(ctx, "deadletter", "list", "--api", api, "--destination", "crm", "--json")
		var l deadletters.Listing
		if err == nil && json.Unmarshal([]byte(out), &l) == nil && len(l.Groups) == 1 && l.Groups[0].Count == 4 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the 4 dead letters never showed: %v %s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := runSluice(ctx, "regulations", "create", "--api", api, "--admin-token", "adm-boot", "--type", "SUPPRESS_ONLY", "u2"); err != nil {
		t.Fatalf("suppressing u2: %v\n%s", err, out)
	}
	rcv.status.Store(0) // the cause is fixed

	outputs := map[string]string{}
	for _, args := range cmds {
		line := strings.Join(args, " ")
		stdout, stderr, err := sluiceOut(ctx, append(args, "--api", api)...)
		if err != nil {
			t.Fatalf("sluice %s: %v\n%s", line, err, stderr)
		}
		outputs[line] = stdout
		t.Logf("sluice %s\n%s", line, stdout)
	}
	// Outputs are compared with runs of spaces squeezed: tabwriter aligns.
	want := map[string][]string{
		"deadletter list": {"ORIGIN DESTINATION REASON COUNT REPLAYED FIRST LAST",
			"sink crm HTTP 4xx: the destination refuses these events as they are 4 0 "},
		"deadletter list --destination crm --show":      {`messageId="m-u1-1" type="track" event="Order Completed"`},
		"deadletter replay --destination crm --dry-run": {"replay (dry run) to crm (sluice.dest.crm): would replay 2 of 4 selected dead letters; skipped: 2 suppressed, 0 already replayed"},
		"deadletter replay --destination crm":           {"to crm (sluice.dest.crm): replayed 2 of 4 selected dead letters; skipped: 2 suppressed, 0 already replayed"},
		"deadletter list --destination crm":             {"sink crm HTTP 4xx: the destination refuses these events as they are 4 2 "},
	}
	for line, subs := range want {
		out, ran := outputs[line]
		if !ran {
			t.Errorf("docs/deadletters.md does not show sluice %s", line)
		}
		squeezed := strings.Join(strings.Fields(out), " ")
		for _, s := range subs {
			if !strings.Contains(squeezed, s) {
				t.Errorf("sluice %s printed\n%s\nwant it to contain %q", line, out, s)
			}
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for rcv.counts()["m-u1-1"] == 0 || rcv.counts()["m-u1-2"] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the replayed events never arrived: %v", rcv.counts())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate or a suppressed event would arrive meanwhile
	if got := rcv.counts(); len(got) != 2 || got["m-u1-1"] != 1 || got["m-u1-2"] != 1 {
		t.Errorf("the webhook got %v, want m-u1-1 and m-u1-2 once each", got)
	}
	out, _, err := sluiceOut(ctx, "audit", "--config", cfgPath, "--holder", "ops@acme.com")
	if err != nil || !strings.Contains(out, "deadletters.replay destination=crm filter(destination=crm) alreadyReplayed=0 replayed=2 selected=4 skippedShredded=0 skippedSuppressed=2 unreadable=0 (request au_") {
		t.Errorf("sluice audit --holder ops@acme.com: %v\n%s", err, out)
	}
	t.Logf("sluice audit --holder ops@acme.com\n%s", out)
}
