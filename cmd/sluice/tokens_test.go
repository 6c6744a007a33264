package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// sluiceOut runs the CLI in process and returns stdout and stderr apart.
func sluiceOut(ctx context.Context, args ...string) (string, string, error) {
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// apiWithTokens runs the api and regulator roles on an embedded broker and
// returns the config file the CLI reads and the API's base URL.
func apiWithTokens(t *testing.T, ctx context.Context) (string, string) {
	t.Helper()
	b := broker.ForTest(t)
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	yaml := "workspace: acme\nkafka:\n  brokers: [" + b.Addr() + "]\nencryption: {disabled: true}\nsources: [{name: web, writeKey: wk_cli}]\n"
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
	cfg := topology.Config{Cluster: cluster.Plain(b.Addr()), Workspace: ws, APIListener: ln, AdminToken: "adm-boot",
		Roles: []topology.Role{topology.RoleRegulator, topology.RoleAPI}}
	go func() { errs <- topology.Run(runCtx, cfg, nil) }()
	t.Cleanup(func() {
		stop()
		if err := <-errs; err != nil {
			t.Errorf("the roles stopped with %v", err)
		}
	})
	return path, "http://" + ln.Addr().String()
}

func getWith(t *testing.T, ctx context.Context, url, token string) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, nil
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// `sluice tokens create` prints a token that works at once with its role's
// routes only; `sluice tokens revoke` stops it at once; `sluice regulations`
// and `sluice export` work with it; `sluice audit --subject` finds the
// filing and the export, with who did them.
func TestTokensAndAuditCLI(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cfgPath, api := apiWithTokens(t, ctx)

	stdout, stderr, err := sluiceOut(ctx, "tokens", "create", "--config", cfgPath, "--holder", "alice@acme.com", "--role", "privacy")
	if err != nil {
		t.Fatalf("tokens create: %v\n%s", err, stderr)
	}
	token := strings.TrimSpace(stdout)
	id, _, _ := strings.Cut(token, ".")
	if strings.Count(stdout, "\n") != 1 || !strings.HasPrefix(id, "tok_") || !strings.Contains(stderr, id) || strings.Contains(stderr, token) {
		t.Fatalf("tokens create printed %q and %q", stdout, stderr)
	}
	if code, h := getWith(t, ctx, api+"/v1/regulations", token); code != 200 || h.Get(admin.HeaderActor) != "alice@acme.com" {
		t.Fatalf("the new token: %d, actor %q", code, h.Get(admin.HeaderActor))
	}
	if code, _ := getWith(t, ctx, api+"/v1/tracking-plans", token); code != 403 {
		t.Fatalf("a privacy token on tracking plans: %d", code)
	}
	if _, _, err := sluiceOut(ctx, "tokens", "create", "--config", cfgPath, "--holder", "bob@acme.com", "--role", "root"); err == nil {
		t.Fatal("a token with an unknown role was created")
	}

	out, err := runSluice(ctx, "regulations", "create", "--api", api, "--admin-token", token, "--type", "SUPPRESS_ONLY", "u-cli")
	if err != nil {
		t.Fatalf("regulations create with the token: %v\n%s", err, out)
	}
	regID := strings.TrimSpace(strings.Split(out, "\n")[0])
	if out, err := runSluice(ctx, "export", "--api", api, "--admin-token", token, "--user", "u-cli"); err != nil {
		t.Fatalf("export with the token: %v\n%s", err, out)
	}

	stdout, stderr, err = sluiceOut(ctx, "audit", "--config", cfgPath, "--subject", "u-cli")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 ||
		!strings.Contains(lines[0], "alice@acme.com ("+id+", privacy)") || !strings.Contains(lines[0], "POST /v1/regulations → 200") ||
		!strings.Contains(lines[0], "regulation="+regID) || !strings.Contains(lines[0], `subjects=USER_ID:"u-cli"`) ||
		!strings.Contains(lines[1], "GET /v1/users/{id}/export → 200 rows=") {
		t.Fatalf("sluice audit --subject u-cli:\n%s", stdout)
	}
	stdout, _, err = sluiceOut(ctx, "audit", "--config", cfgPath, "--holder", "alice@acme.com", "--since", "1h", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created bool
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var e admin.Entry
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit --json line %q: %v", l, err)
		}
		if e.Holder != "alice@acme.com" {
			t.Errorf("--holder alice@acme.com shows %s", e.Holder)
		}
		created = created || e.Action == admin.ActionTokenCreate
	}
	if created {
		t.Error("the token's creation is filed under its holder, not under who created it")
	}
	stdout, _, _ = sluiceOut(ctx, "audit", "--config", cfgPath)
	if !strings.Contains(stdout, "tokens.create token="+id+" holder=alice@acme.com role=privacy") {
		t.Errorf("the trail lacks the creation of %s:\n%s", id, stdout)
	}

	stdout, _, err = sluiceOut(ctx, "tokens", "list", "--config", cfgPath)
	if err != nil || !strings.Contains(stdout, id) || !strings.Contains(stdout, "alice@acme.com") || strings.Contains(stdout, token) {
		t.Fatalf("tokens list: %v\n%s", err, stdout)
	}
	if stdout, _, err = sluiceOut(ctx, "tokens", "revoke", "--config", cfgPath, id); err != nil || !strings.Contains(stdout, "revoked "+id) {
		t.Fatalf("tokens revoke: %v %s", err, stdout)
	}
	if code, _ := getWith(t, ctx, api+"/v1/regulations", token); code != 401 {
		t.Fatalf("the revoked token: %d", code)
	}
	if _, _, err := sluiceOut(ctx, "tokens", "revoke", "--config", cfgPath, "tok_nope"); err == nil {
		t.Error("revoking an unknown token succeeded")
	}
	stdout, _, _ = sluiceOut(ctx, "audit", "--config", cfgPath, "--holder", "alice@acme.com")
	if !strings.Contains(stdout, "auth.revoked-token GET /v1/regulations → 401") {
		t.Errorf("the revoked token's use is not in the trail:\n%s", stdout)
	}
}

// Under the ACLs of `sluice topics acls`, only the admin principal writes
// admin tokens and reads the trail; the api principal reads tokens and
// appends to the trail, nothing more; other roles touch neither.
func TestAdminTopicsACLs(t *testing.T) {
	users := []string{"sluice-api", "sluice-router", "sluice-regulator", "sluice-admin"}
	var restricted []broker.User
	for _, u := range users {
		restricted = append(restricted, broker.User{Mechanism: "SCRAM-SHA-512", Name: u, Password: "pw-" + u})
		t.Setenv("PW_"+strings.ToUpper(strings.ReplaceAll(u, "-", "_")), "pw-"+u)
	}
	b := broker.ForTest(t, broker.Config{
		Users:           []broker.User{{Mechanism: "SCRAM-SHA-512", Name: "root", Password: "pw-root"}},
		RestrictedUsers: restricted,
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	t.Setenv("PW_ROOT", "pw-root")
	dir := t.TempDir()
	path := filepath.Join(dir, "sluice.yaml")
	yaml := "workspace: acme\nkafka:\n  brokers: [" + b.Addr() + "]\n  sasl: {mechanism: SCRAM-SHA-512, user: root, passwordEnv: PW_ROOT}\n" +
		"encryption: {disabled: true}\nsources: [{name: web, writeKey: wk}]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"topics", "apply", "--config", path}, {"topics", "acls", "--apply", "--config", path}} {
		if out, err := runSluice(ctx, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	as := func(user string) *kgo.Client {
		ws, _ := config.Load(path)
		ws.Kafka.SASL.User, ws.Kafka.SASL.PasswordEnv = user, "PW_"+strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
		conn, err := cluster.FromConfig(ws.Kafka)
		if err != nil {
			t.Fatal(err)
		}
		cl, err := conn.NewClient(kgo.RecordRetries(1), kgo.RecordDeliveryTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	tokensTopic, auditTopic := "sluice."+topics.AdminTokens, "sluice."+topics.Audit

	// The admin principal, through the CLI.
	stdout, stderr, err := sluiceOut(ctx, "tokens", "create", "--config", path, "--kafka-user", "sluice-admin",
		"--kafka-password-env", "PW_SLUICE_ADMIN", "--holder", "alice@acme.com", "--role", "viewer")
	if err != nil || !strings.HasPrefix(stdout, "tok_") {
		t.Fatalf("tokens create as sluice-admin: %v %s", err, stderr)
	}
	stdout, stderr, err = sluiceOut(ctx, "audit", "--config", path, "--kafka-user", "sluice-admin", "--kafka-password-env", "PW_SLUICE_ADMIN")
	if err != nil || !strings.Contains(stdout, "tokens.create") || !strings.Contains(stdout, "(cli, sluice-admin)") {
		t.Fatalf("audit as sluice-admin: %v %s\n%s", err, stderr, stdout)
	}

	refusedWrite := func(user, topic string) {
		t.Helper()
		err := as(user).ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte("tok_forged"), Value: []byte(`{}`)}).FirstErr()
		if !errors.Is(err, kerr.TopicAuthorizationFailed) && !errors.Is(err, kerr.ClusterAuthorizationFailed) {
			t.Errorf("%s wrote %s: got %v, want an authorization error", user, topic, err)
		}
	}
	refusedWrite("sluice-api", tokensTopic)
	refusedWrite("sluice-router", tokensTopic)
	refusedWrite("sluice-regulator", tokensTopic)
	refusedWrite("sluice-router", auditTopic)
	refusedWrite("sluice-regulator", auditTopic)
	if err := as("sluice-api").ProduceSync(ctx, &kgo.Record{Topic: auditTopic, Value: []byte(`{}`)}).FirstErr(); err != nil {
		t.Errorf("the api principal cannot append to the trail: %v", err)
	}
	// Reading: the api reads tokens, not the trail; the router neither.
	for _, c := range []struct {
		user, topic string
		ok          bool
	}{
		{"sluice-api", tokensTopic, true}, {"sluice-api", auditTopic, false}, {"sluice-router", tokensTopic, false},
	} {
		cl := as(c.user)
		err := describe(ctx, cl, c.topic)
		if err == nil {
			err = readOne(ctx, cl, c.topic)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s reading %s: %v, want allowed %v", c.user, c.topic, err, c.ok)
		}
	}
}

// describe asks the broker itself (not the client's metadata cache) for a
// topic's metadata and returns the topic's error, such as an authorization
// failure.
func describe(ctx context.Context, cl *kgo.Client, topic string) error {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return err
	}
	if len(resp.Topics) != 1 {
		return fmt.Errorf("metadata for %s: %d topics", topic, len(resp.Topics))
	}
	return kerr.ErrorForCode(resp.Topics[0].ErrorCode)
}

// readOne fetches from the start of a topic once, returning the fetch error.
func readOne(ctx context.Context, cl *kgo.Client, topic string) error {
	cl.AddConsumeTopics(topic)
	fctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for {
		fs := cl.PollFetches(fctx)
		if err := fs.Err0(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if fctx.Err() != nil || fs.NumRecords() > 0 {
			return nil
		}
	}
}
