package topics_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// workspace is the config the cluster tests plan: the nine fixed topics and
// one destination.
var workspace = config.Config{Partitions: 3, Destinations: []config.Destination{{Name: "warehouse"}}}

func admin(t *testing.T, b *broker.Broker) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// actions maps each topic to its planned action.
func actions(t *testing.T, adm *kadm.Client, specs []topics.Spec) map[string]topics.Action {
	t.Helper()
	steps, err := topics.Plan(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != len(specs) {
		t.Fatalf("plan has %d steps for %d specs", len(steps), len(specs))
	}
	got := map[string]topics.Action{}
	for _, st := range steps {
		got[st.Spec.Name] = st.Action
	}
	return got
}

func wantAll(t *testing.T, got map[string]topics.Action, want topics.Action) {
	t.Helper()
	for name, a := range got {
		if a != want {
			t.Errorf("%s: %s, want %s", name, a, want)
		}
	}
}

// readConfigs reads a topic's configs back from the broker.
func readConfigs(t *testing.T, adm *kadm.Client, topic string) map[string]string {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(t.Context(), topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		t.Fatalf("describe %s: %v", topic, err)
	}
	m := map[string]string{}
	for _, c := range rc.Configs {
		m[c.Key] = c.MaybeValue()
	}
	return m
}

func createRaw(t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]string) {
	t.Helper()
	cfg := map[string]*string{}
	for k, v := range configs {
		cfg[k] = kadm.StringPtr(v)
	}
	resp, err := adm.CreateTopic(t.Context(), partitions, -1, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
}

func setConfig(t *testing.T, adm *kadm.Client, topic, key, value string) {
	t.Helper()
	resps, err := adm.AlterTopicConfigs(t.Context(), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: key, Value: kadm.StringPtr(value)}}, topic)
	if err == nil {
		_, err = resps.On(topic, nil)
	}
	if err != nil {
		t.Fatalf("set %s %s: %v", topic, key, err)
	}
}

func TestPlanApplyPlan(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	specs := topics.ForConfig(workspace)

	wantAll(t, actions(t, adm, specs), topics.Create)
	// Planning changes nothing: the broker auto-creates topics on metadata
	// requests that ask for it, and a plan must not be one.
	listed, err := adm.ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 0 {
		t.Fatalf("plan created topics: %v", listed.Names())
	}

	steps, err := topics.Apply(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		if st.Action != topics.Create || st.Err != nil {
			t.Errorf("apply %s: %s %v, want created", st.Spec.Name, st.Action, st.Err)
		}
	}
	// A fresh client: kadm answers from a metadata cache of a few seconds.
	details, err := admin(t, b).ListTopics(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		if n := len(details[s.Name].Partitions); n != 3 {
			t.Errorf("%s: %d partitions, want 3", s.Name, n)
		}
		got := readConfigs(t, adm, s.Name)
		for k, v := range s.Wanted() {
			if got[k] != v {
				t.Errorf("%s: %s = %q on the broker, want %q", s.Name, k, got[k], v)
			}
		}
	}
	if got := readConfigs(t, adm, "sluice.suppressions"); got["retention.ms"] != "-1" || got["cleanup.policy"] != "compact" {
		t.Errorf("suppressions: retention.ms %s, cleanup.policy %s: a table must never expire", got["retention.ms"], got["cleanup.policy"])
	}

	// The same admin client plans again at once: no stale metadata.
	wantAll(t, actions(t, adm, specs), topics.OK)
	if err := topics.Check(t.Context(), adm, specs); err != nil {
		t.Fatalf("check after apply: %v", err)
	}
	again, err := topics.Apply(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := again.WriteText(&out, true); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != len(specs) || !strings.HasPrefix(lines[0], "ok") {
		t.Errorf("second apply printed:\n%s", out.String())
	}
}

func TestWrongPolicyIsFatalAndLeftAlone(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	specs := topics.ForConfig(workspace)
	// Someone made the suppressions table a stream: records would expire,
	// and a suppression with them.
	createRaw(t, adm, "sluice.suppressions", 3, map[string]string{"cleanup.policy": "delete", "retention.ms": "86400000"})

	err := topics.Check(t.Context(), adm, specs)
	var ce *topics.CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("check: %v, want a *CheckError", err)
	}
	if len(ce.Missing) != len(specs)-1 || len(ce.WrongPolicy) != 1 {
		t.Fatalf("check: %d missing, %d wrong policies, want %d and 1", len(ce.Missing), len(ce.WrongPolicy), len(specs)-1)
	}
	var pe *topics.PolicyError
	if !errors.As(err, &pe) || *pe != (topics.PolicyError{Topic: "sluice.suppressions", Found: "delete", Wanted: "compact"}) {
		t.Fatalf("check: policy error %+v", pe)
	}
	for _, want := range []string{
		`topic sluice.suppressions has cleanup.policy "delete", sluice needs "compact"`,
		"a decision about the topic's data",
		"--entity-name sluice.suppressions --add-config cleanup.policy=compact",
		"run `sluice topics apply --config <sluice.yaml>` to create them",
		"sluice.events.raw",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("check message lacks %q:\n%v", want, err)
		}
	}

	steps, err := topics.Apply(t.Context(), adm, specs)
	if !errors.As(err, &pe) || pe.Topic != "sluice.suppressions" {
		t.Fatalf("apply: %v, want a *PolicyError for sluice.suppressions", err)
	}
	var out bytes.Buffer
	if err := steps.WriteText(&out, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "refuse  sluice.suppressions") ||
		!strings.Contains(out.String(), "cleanup.policy delete, want compact (left: switching it is a decision about the topic's data); 6 other configs differ (left until cleanup.policy is right)") {
		t.Errorf("apply steps:\n%s", out.String())
	}
	// Apply changed nothing on it, not even the configs that follow the
	// policy, and made every other topic.
	got := readConfigs(t, adm, "sluice.suppressions")
	if got["cleanup.policy"] != "delete" || got["retention.ms"] != "86400000" {
		t.Errorf("apply changed the refused topic: cleanup.policy %s, retention.ms %s", got["cleanup.policy"], got["retention.ms"])
	}
	err = topics.Check(t.Context(), adm, specs)
	if !errors.As(err, &ce) || len(ce.Missing) != 0 || len(ce.WrongPolicy) != 1 {
		t.Fatalf("check after apply: %v, want only the wrong policy", err)
	}
}

func TestMissingTopicIsFatal(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	specs := topics.ForConfig(workspace)
	if err := topics.Ensure(t.Context(), adm, specs); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.DeleteTopics(t.Context(), "sluice.consent"); err != nil {
		t.Fatal(err)
	}
	err := topics.Check(t.Context(), adm, specs)
	var ce *topics.CheckError
	if !errors.As(err, &ce) || len(ce.Missing) != 1 || ce.Missing[0] != "sluice.consent" || len(ce.WrongPolicy) != 0 {
		t.Fatalf("check: %v, want sluice.consent missing", err)
	}
	if want := "topic sluice.consent is missing: run `sluice topics apply --config <sluice.yaml>` to create it"; err.Error() != want {
		t.Errorf("check: %q\nwant %q", err, want)
	}
}

func TestAlteredConfigIsPlannedAndFixed(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	specs := topics.ForConfig(workspace)
	if err := topics.Ensure(t.Context(), adm, specs); err != nil {
		t.Fatal(err)
	}
	setConfig(t, adm, "sluice.events.raw", "retention.ms", "1000")
	setConfig(t, adm, "sluice.consent", "delete.retention.ms", "86400000")
	// A config the specs do not set is not theirs to reset.
	setConfig(t, adm, "sluice.consent", "max.message.bytes", "2000000")

	// Differences in configs do not stop a role.
	if err := topics.Check(t.Context(), adm, specs); err != nil {
		t.Fatalf("check: %v", err)
	}
	steps, err := topics.Plan(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	diffs := map[string][]topics.Diff{}
	for _, st := range steps {
		want := topics.OK
		if st.Spec.Name == "sluice.events.raw" || st.Spec.Name == "sluice.consent" {
			want = topics.Alter
		}
		if st.Action != want {
			t.Errorf("%s: %s, want %s", st.Spec.Name, st.Action, want)
		}
		diffs[st.Spec.Name] = st.Diffs
	}
	if d := diffs["sluice.events.raw"]; len(d) != 1 || d[0] != (topics.Diff{Key: "retention.ms", Current: "1000", Wanted: "604800000"}) {
		t.Errorf("events.raw diffs %+v", d)
	}
	if d := diffs["sluice.consent"]; len(d) != 1 || d[0] != (topics.Diff{Key: "delete.retention.ms", Current: "86400000", Wanted: "3600000"}) {
		t.Errorf("consent diffs %+v", d)
	}
	var out bytes.Buffer
	if err := steps.WriteText(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"alter  sluice.events.raw      retention.ms 1000 (1s) → 604800000 (7d)\n",
		"alter  sluice.consent         delete.retention.ms 86400000 (1d) → 3600000 (1h)\n",
		"ok     sluice.tracking-plans\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, out.String())
		}
	}

	if _, err := topics.Apply(t.Context(), adm, specs); err != nil {
		t.Fatal(err)
	}
	if got := readConfigs(t, adm, "sluice.events.raw")["retention.ms"]; got != "604800000" {
		t.Errorf("events.raw retention.ms %s after apply, want 604800000", got)
	}
	consent := readConfigs(t, adm, "sluice.consent")
	if consent["delete.retention.ms"] != "3600000" || consent["max.message.bytes"] != "2000000" {
		t.Errorf("consent after apply: delete.retention.ms %s (want 3600000), max.message.bytes %s (want 2000000, untouched)",
			consent["delete.retention.ms"], consent["max.message.bytes"])
	}
	wantAll(t, actions(t, adm, specs), topics.OK)
}

// A source given a retention shorter than the streams' shortens them: plan
// shows it, apply sets it, and the next plan has nothing left to do.
func TestSourceRetentionShortensTheStreams(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	if _, err := topics.Apply(t.Context(), adm, topics.ForConfig(workspace)); err != nil {
		t.Fatal(err)
	}
	cfg := workspace
	cfg.Sources = []config.Source{{Name: "web", WriteKey: "k", Retention: config.D(36 * time.Hour)}}
	specs := topics.ForConfig(cfg)
	steps, err := topics.Plan(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	streams := []string{"sluice.events.raw", "sluice.violations", "sluice.deadletter", "sluice.dest.warehouse"}
	var out bytes.Buffer
	if err := steps.WriteText(&out, false); err != nil {
		t.Fatal(err)
	}
	for _, st := range steps {
		want := topics.OK
		if slices.Contains(streams, st.Spec.Name) {
			want = topics.Alter
			if len(st.Diffs) != 1 || st.Diffs[0] != (topics.Diff{Key: "retention.ms", Current: "604800000", Wanted: "129600000"}) {
				t.Errorf("%s diffs %+v", st.Spec.Name, st.Diffs)
			}
		}
		if st.Action != want {
			t.Errorf("%s: %s, want %s", st.Spec.Name, st.Action, want)
		}
	}
	if want := "alter  sluice.events.raw      retention.ms 604800000 (7d) → 129600000 (36h)\n"; !strings.Contains(out.String(), want) {
		t.Errorf("plan lacks %q:\n%s", want, out.String())
	}
	if _, err := topics.Apply(t.Context(), adm, specs); err != nil {
		t.Fatal(err)
	}
	for _, topic := range streams {
		if got := readConfigs(t, adm, topic)["retention.ms"]; got != "129600000" {
			t.Errorf("%s retention.ms %s after apply, want 129600000", topic, got)
		}
	}
	if got := readConfigs(t, adm, "sluice.audit")["retention.ms"]; got != "34560000000" {
		t.Errorf("audit retention.ms %s, want 34560000000 (untouched)", got)
	}
	wantAll(t, actions(t, adm, specs), topics.OK)
}

func TestFewerPartitionsAreReportedNotAdded(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	specs := topics.ForConfig(config.Config{Partitions: 6})
	raw := specs[0]
	createRaw(t, adm, raw.Name, 2, raw.Wanted())

	steps, err := topics.Apply(t.Context(), adm, specs)
	if err != nil {
		t.Fatalf("apply: %v (fewer partitions are not an error)", err)
	}
	st := steps[0]
	want := topics.Diff{Key: topics.KeyPartitions, Current: "2", Wanted: "6", Manual: true}
	if st.Action != topics.Keep || len(st.Diffs) != 1 || st.Diffs[0].Key != want.Key || st.Diffs[0].Current != "2" || st.Diffs[0].Wanted != "6" || !st.Diffs[0].Manual {
		t.Fatalf("%s: %s %+v, want keep with %+v", st.Spec.Name, st.Action, st.Diffs, want)
	}
	details, err := admin(t, b).ListTopics(t.Context(), raw.Name)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(details[raw.Name].Partitions); n != 2 {
		t.Errorf("apply changed partitions to %d", n)
	}
	if err := topics.Check(t.Context(), adm, specs); err != nil {
		t.Errorf("check: %v (fewer partitions do not stop a role)", err)
	}
}

// TestApplyWhileAnotherCreates: between apply's plan and its create, another
// process creates the topic with a config of its own. Apply compares and
// alters it like any existing topic.
func TestApplyWhileAnotherCreates(t *testing.T) {
	b := broker.ForTest(t)
	adm, other := admin(t, b), admin(t, b)
	specs := topics.ForConfig(workspace)[:1]
	var intercepted atomic.Bool
	b.Cluster().ControlKey(int16(kmsg.CreateTopics), func(kmsg.Request) (kmsg.Response, error, bool) {
		if intercepted.Swap(true) {
			return nil, nil, false
		}
		b.Cluster().DropControl()
		b.Cluster().SleepControl(func() {
			createRaw(t, other, specs[0].Name, 3, map[string]string{"cleanup.policy": "delete", "retention.ms": "1000"})
		})
		return nil, nil, false
	})
	steps, err := topics.Apply(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	if !intercepted.Load() {
		t.Fatal("the create was not intercepted")
	}
	if st := steps[0]; st.Action != topics.Alter || st.Err != nil {
		t.Fatalf("%s: %s %v, want altered", st.Spec.Name, st.Action, st.Err)
	}
	if got := readConfigs(t, adm, specs[0].Name)["retention.ms"]; got != "604800000" {
		t.Errorf("retention.ms %s, want 604800000", got)
	}
}

func TestOtherReplicationIsReportedNotChanged(t *testing.T) {
	b := broker.ForTest(t)
	adm := admin(t, b)
	specs := topics.ForConfig(config.Config{Topics: config.Topics{ReplicationFactor: 3}})[:1]
	createRaw(t, adm, specs[0].Name, 3, specs[0].Wanted()) // one replica: the broker has one node

	steps, err := topics.Apply(t.Context(), adm, specs)
	if err != nil {
		t.Fatal(err)
	}
	st := steps[0]
	if st.Action != topics.Keep || len(st.Diffs) != 1 || st.Diffs[0].Key != topics.KeyReplicationFactor ||
		st.Diffs[0].Current != "1" || st.Diffs[0].Wanted != "3" || !st.Diffs[0].Manual {
		t.Fatalf("%s: %s %+v, want keep with replication.factor 1, want 3", st.Spec.Name, st.Action, st.Diffs)
	}
	if err := topics.Check(t.Context(), adm, specs); err != nil {
		t.Errorf("check: %v (replication does not stop a role)", err)
	}
}
