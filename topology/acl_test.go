package topology

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// connAs is a connection to the test cluster as one SASL user.
func connAs(t *testing.T, addr, user string) cluster.Conn {
	t.Helper()
	env := "SLUICE_TEST_PASSWORD_" + strings.ToUpper(strings.ReplaceAll(user, "-", "_"))
	t.Setenv(env, "pw-"+user)
	conn, err := cluster.FromConfig(config.Kafka{
		Brokers: []string{addr}, ClientID: user,
		SASL: config.SASL{Mechanism: config.SASLScramSHA512, User: user, PasswordEnv: env},
	})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// With the least-privilege ACLs of topics.ACLs on an authorizing broker,
// every role works under its own principal (an event reaches the warehouse,
// a deletion finishes), and a principal may not write what is not its own:
// a router cannot lift a suppression, a sink cannot erase a regulation.
func TestRolesWorkUnderLeastPrivilegeACLs(t *testing.T) {
	users := []string{"sluice-api", "sluice-router", "sluice-sink", "sluice-regulator"}
	var restricted []broker.User
	for _, u := range users {
		restricted = append(restricted, broker.User{Mechanism: "SCRAM-SHA-512", Name: u, Password: "pw-" + u})
	}
	b := broker.ForTest(t, broker.Config{
		Users:           []broker.User{{Mechanism: "SCRAM-SHA-512", Name: "admin", Password: "pw-admin"}},
		RestrictedUsers: restricted,
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	ch, err := chlocal.Start(ctx, chlocal.Config{DataPath: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	t.Setenv("SLUICE_TEST_KEK", strings.Repeat("ab", 32))
	ws := config.Config{
		Workspace:  "acme",
		Encryption: config.Encryption{KEKs: []config.KEKConfig{{ID: "k1", SecretEnv: "SLUICE_TEST_KEK"}}, Current: "k1"},
		Sources:    []config.Source{{Name: "web", WriteKey: "wk_acl"}},
		Destinations: []config.Destination{{Name: "warehouse", Type: config.DestinationClickHouse,
			Settings: map[string]any{"addr": ch.Addr(), "database": "default", "compression": "none"}}},
	}.WithDefaults()

	admin := connAs(t, b.Addr(), "admin")
	acl, err := admin.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer acl.Close()
	adm := kadm.NewClient(acl)
	if _, err := topics.Apply(ctx, adm, topics.ForConfig(ws)); err != nil {
		t.Fatal(err)
	}
	if err := topics.ApplyACLs(ctx, adm, topics.ACLs(ws, topics.Principals{})); err != nil {
		t.Fatal(err)
	}

	// Each role in a Run of its own, connected as its own principal.
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	apiURL := "http://" + apiLn.Addr().String()
	runCtx, stop := context.WithCancel(ctx)
	errs := make(chan error, len(AllRoles))
	for _, role := range AllRoles {
		cfg := Config{Cluster: connAs(t, b.Addr(), "sluice-"+string(role)), Workspace: ws, Roles: []Role{role}}
		if role == RoleAPI {
			cfg.APIListener, cfg.AdminToken = apiLn, "adm"
		}
		go func() { errs <- Run(runCtx, cfg, nil) }()
	}
	defer func() {
		stop()
		for range AllRoles {
			if err := <-errs; err != nil {
				t.Errorf("a role stopped with %v", err)
			}
		}
	}()

	do := func(method, path, auth, body string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, method, apiURL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth == "admin" {
			req.Header.Set("Authorization", "Bearer adm")
		} else {
			req.SetBasicAuth("wk_acl", "")
		}
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(data)
	}
	rows := func(user string) string {
		q := url.QueryEscape("SELECT count() FROM default.tracks WHERE user_id = '" + user + "'")
		resp, err := http.Get(ch.URL() + "/?query=" + q)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return strings.TrimSpace(string(data))
	}
	var last string
	eventually := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case err := <-errs:
				errs <- err // for the deferred check
				t.Fatalf("waiting for %s, a role stopped: %v", what, err)
			case <-ctx.Done():
				t.Fatalf("gave up waiting for %s; last answer %s", what, last)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}

	eventually("the api to accept an event", func() bool {
		code, _ := do(http.MethodPost, "/v1/track", "", `{"userId":"u-acl","event":"Signed Up"}`)
		return code == http.StatusOK
	})
	eventually("the event in the warehouse", func() bool { return rows("u-acl") == "1" })

	code, body := do(http.MethodPost, "/v1/regulations", "admin",
		`{"regulationType":"SUPPRESS_WITH_DELETE","subjectType":"USER_ID","subjectIds":["u-acl"]}`)
	if code != http.StatusOK {
		t.Fatalf("filing: %d %s", code, body)
	}
	var filed struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &filed); err != nil || filed.ID == "" {
		t.Fatalf("filing answer %s: %v", body, err)
	}
	eventually("the regulation FINISHED", func() bool {
		_, last = do(http.MethodGet, "/v1/regulations/"+filed.ID, "admin", "")
		if strings.Contains(last, `"overallStatus":"FAILED"`) {
			t.Fatalf("regulation failed: %s", last)
		}
		return strings.Contains(last, `"overallStatus":"FINISHED"`)
	})
	if got := rows("u-acl"); got != "0" {
		t.Fatalf("rows of the deleted user: %s", got)
	}

	// What a principal may do, written the same way as what it may not.
	for _, r := range []struct{ user, topic string }{
		{"sluice-api", ws.TopicPrefix + topics.Suppressions},
		{"sluice-regulator", ws.TopicPrefix + topics.Profiles},
	} {
		cl, err := connAs(t, b.Addr(), r.user).NewClient(kgo.RecordRetries(1), kgo.RecordDeliveryTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		err = cl.ProduceSync(ctx, &kgo.Record{Topic: r.topic, Key: []byte("acme/USER_ID/nobody")}).FirstErr()
		cl.Close()
		if err != nil {
			t.Errorf("%s could not write its own topic %s: %v", r.user, r.topic, err)
		}
	}

	// What a principal may not do.
	refused := []struct {
		user, topic string
	}{
		{"sluice-router", ws.TopicPrefix + topics.Suppressions},
		{"sluice-sink", ws.TopicPrefix + topics.Suppressions},
		{"sluice-sink", ws.TopicPrefix + topics.Regulations},
		{"sluice-router", ws.TopicPrefix + topics.Regulations},
	}
	for _, r := range refused {
		cl, err := connAs(t, b.Addr(), r.user).NewClient(kgo.RecordRetries(1), kgo.RecordDeliveryTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		err = cl.ProduceSync(ctx, &kgo.Record{Topic: r.topic, Key: []byte("acme/USER_ID/u-acl")}).FirstErr()
		cl.Close()
		if !errors.Is(err, kerr.TopicAuthorizationFailed) && !errors.Is(err, kerr.ClusterAuthorizationFailed) {
			t.Errorf("%s wrote a tombstone to %s: got %v, want an authorization error", r.user, r.topic, err)
		}
	}
}
