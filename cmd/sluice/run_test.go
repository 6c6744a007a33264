package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// runSluice runs the CLI in process with args and returns its error and output.
func runSluice(ctx context.Context, args ...string) (string, error) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	return out.String(), err
}

// `sluice run` refuses to start, with a message naming the fault and the
// fix, against a cluster or config that would break a guarantee.
func TestRunRefusesToStart(t *testing.T) {
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)

	dir := t.TempDir()
	writeConfig := func(name, kafka string) string {
		path := filepath.Join(dir, name)
		yaml := "workspace: acme\ntopicPrefix: " + strings.TrimSuffix(name, ".yaml") + ".\n" + kafka +
			"sources: [{name: web, writeKey: wk}]\n"
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	brokers := "kafka:\n  brokers: [" + b.Addr() + "]\n"

	// A compacted table created as a delete topic: suppressions would expire.
	wrong := writeConfig("wrong.yaml", brokers)
	ws, err := config.Load(wrong)
	if err != nil {
		t.Fatal(err)
	}
	var specs []topics.Spec
	for _, s := range topics.ForConfig(ws) {
		if s.Name == "wrong.suppressions" {
			s.Compacted = false
		}
		specs = append(specs, s)
	}
	if _, err := topics.Apply(t.Context(), adm, specs); err != nil {
		t.Fatal(err)
	}

	t.Setenv("SLUICE_TEST_UNSET_PASSWORD", "")
	os.Unsetenv("SLUICE_TEST_UNSET_PASSWORD")
	cases := []struct {
		name   string
		config string
		want   []string
		args   []string // besides --config and --roles
	}{
		{"missing topics", writeConfig("missing.yaml", brokers), []string{"missing.events.raw", "sluice topics apply"}, nil},
		{"wrong cleanup policy", wrong, []string{"wrong.suppressions", "compact", "delete"}, nil},
		{"bad TLS file", writeConfig("tls.yaml", brokers+"  tls: {ca: "+filepath.Join(dir, "no-such-ca.pem")+"}\n"),
			[]string{"kafka.tls.ca", "no-such-ca.pem"}, nil},
		{"missing SASL secret", writeConfig("sasl.yaml", brokers+"  sasl: {mechanism: SCRAM-SHA-512, user: sluice, passwordEnv: SLUICE_TEST_UNSET_PASSWORD}\n"),
			[]string{"kafka.sasl.passwordEnv", "SLUICE_TEST_UNSET_PASSWORD"}, nil},
		{"no brokers", writeConfig("nobrokers.yaml", ""), []string{"kafka.brokers"}, nil},
		{"bad instance name", writeConfig("instance.yaml", brokers), []string{`Instance "router 1"`, "A-Z a-z 0-9"}, []string{"--instance", "router 1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			out, err := runSluice(ctx, append([]string{"run", "--config", tc.config, "--roles", "router,sink,regulator"}, tc.args...)...)
			if err == nil {
				t.Fatalf("sluice run started; output %q", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
