package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// runRoot runs sluice in process with args.
func runRoot(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), err
}

func TestTopicsPlanApply(t *testing.T) {
	b := broker.ForTest(t)
	// The config's brokers are unreachable: --brokers must win.
	file := filepath.Join(t.TempDir(), "sluice.yaml")
	err := os.WriteFile(file, []byte(`workspace: acme
kafka: {brokers: ["127.0.0.1:1"]}
topics: {streamRetention: 3d}
destinations:
  - {name: warehouse, type: clickhouse}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	flags := []string{"--config", file, "--brokers", b.Addr(), "--timeout", "10s"}

	out, err := runRoot(t, append([]string{"topics", "plan"}, flags...)...)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ws, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	n := len(topics.ForConfig(ws))
	if len(lines) != n+1 || lines[n] != fmt.Sprintf("%d topics: %d to create", n, n) {
		t.Fatalf("plan printed %d lines, want one per topic and a summary:\n%s", len(lines), out)
	}
	for _, want := range []string{
		"create  sluice.events.raw      3 partitions, default replication, cleanup.policy=delete, retention.ms=259200000 (3d)\n",
		"create  sluice.dest.warehouse  3 partitions, default replication, cleanup.policy=delete, retention.ms=259200000 (3d)\n",
		"create  sluice.suppressions    3 partitions, default replication, cleanup.policy=compact, delete.retention.ms=3600000 (1h), max.compaction.lag.ms=3600000 (1h), min.cleanable.dirty.ratio=0.1, min.compaction.lag.ms=0, retention.bytes=-1, retention.ms=-1, segment.ms=3600000 (1h)\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}

	out, err = runRoot(t, append([]string{"topics", "apply"}, flags...)...)
	if err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	if !strings.Contains(out, "created  sluice.consent ") || !strings.HasSuffix(out, fmt.Sprintf("%d topics: %d created\n", n, n)) {
		t.Errorf("apply printed:\n%s", out)
	}
	out, err = runRoot(t, append([]string{"topics", "plan"}, flags...)...)
	if err != nil || !strings.HasSuffix(out, fmt.Sprintf("%d topics: %d ok\n", n, n)) {
		t.Errorf("plan after apply: %v\n%s", err, out)
	}

	// A table turned into a stream: apply refuses, says so and fails.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.AlterTopicConfigs(t.Context(), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("delete")}}, "sluice.consent"); err != nil {
		t.Fatal(err)
	}
	out, err = runRoot(t, append([]string{"topics", "apply"}, flags...)...)
	if err == nil || !strings.Contains(err.Error(), "--entity-name sluice.consent --add-config cleanup.policy=compact") {
		t.Errorf("apply on a wrong policy: %v, want the fix", err)
	}
	if !strings.Contains(out, "refused  sluice.consent ") || !strings.HasSuffix(out, fmt.Sprintf("%d topics: 1 with a wrong cleanup policy, not changed, %d ok\n", n, n-1)) {
		t.Errorf("apply printed:\n%s", out)
	}
}

func TestTopicsNeedBrokers(t *testing.T) {
	_, err := runRoot(t, "topics", "plan")
	if err == nil || !strings.Contains(err.Error(), "--brokers") {
		t.Errorf("plan without brokers: %v, want a hint at --brokers", err)
	}
}
