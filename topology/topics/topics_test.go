package topics_test

import (
	"maps"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

func TestForConfig(t *testing.T) {
	cfg := config.Config{
		TopicPrefix:  "acme.",
		Partitions:   6,
		Destinations: []config.Destination{{Name: "warehouse"}, {Name: "crm"}},
		Topics: config.Topics{
			ReplicationFactor: 3,
			MinInsyncReplicas: 2,
			StreamRetention:   config.D(3 * 24 * time.Hour),
			Compaction:        config.Compaction{Segment: config.D(10 * time.Minute), DeleteRetention: config.D(2 * time.Hour)},
		},
	}
	specs := topics.ForConfig(cfg)
	byName := map[string]topics.Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	if len(byName) != 14 {
		t.Fatalf("got %d topics, want 12 fixed + 2 destinations: %v", len(byName), specs)
	}
	stream := map[string]string{"cleanup.policy": "delete", "retention.ms": "259200000", "min.insync.replicas": "2"}
	table := map[string]string{
		"cleanup.policy": "compact", "retention.ms": "-1", "retention.bytes": "-1",
		"segment.ms": "600000", "max.compaction.lag.ms": "600000", "min.compaction.lag.ms": "0",
		"delete.retention.ms": "7200000", "min.cleanable.dirty.ratio": "0.1", "min.insync.replicas": "2",
	}
	for _, tc := range []struct {
		name   string
		wanted map[string]string
	}{
		{"acme.events.raw", stream}, {"acme.violations", stream}, {"acme.deadletter", stream},
		{"acme.dest.warehouse", stream}, {"acme.dest.crm", stream},
		{"acme.tracking-plans", table}, {"acme.suppressions", table}, {"acme.consent", table},
		{"acme.profiles", table}, {"acme.identities", table}, {"acme.keys", table}, {"acme.admin-tokens", table},
		// A regulation of 5,000 subjects with its receipts outgrows 1 MiB.
		{"acme.regulations", with(table, "max.message.bytes", "8388608")},
		// The audit trail outlives the streams' retention: 400 days.
		{"acme.audit", map[string]string{"cleanup.policy": "delete", "retention.ms": "34560000000",
			"max.message.bytes": "8388608", "min.insync.replicas": "2"}},
	} {
		s, ok := byName[tc.name]
		if !ok {
			t.Errorf("%s: missing", tc.name)
			continue
		}
		if s.Partitions != 6 || s.ReplicationFactor != 3 {
			t.Errorf("%s: partitions %d, replication %d, want 6 and 3", tc.name, s.Partitions, s.ReplicationFactor)
		}
		if got := s.Wanted(); !maps.Equal(got, tc.wanted) {
			t.Errorf("%s: configs\n got %v\nwant %v", tc.name, got, tc.wanted)
		}
	}
	// Specs do not share their config maps: changing one changes no other.
	specs[0].Configs["retention.ms"] = "1"
	if topics.ForConfig(cfg)[0].Configs["retention.ms"] == "1" || specs[len(specs)-1].Configs["retention.ms"] == "1" {
		t.Error("specs share a config map")
	}
}

// with returns a copy of m with k set to v.
func with(m map[string]string, k, v string) map[string]string {
	c := maps.Clone(m)
	c[k] = v
	return c
}

func TestAllIsForConfigOfTheDefaults(t *testing.T) {
	cfg := config.Config{Partitions: 3, Destinations: []config.Destination{{Name: "hook"}}}
	want := topics.ForConfig(cfg)
	got := topics.Names{Prefix: "sluice."}.All(3, []string{"hook"})
	if len(got) != len(want) {
		t.Fatalf("All: %d specs, ForConfig: %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Name != want[i].Name || got[i].Compacted != want[i].Compacted || got[i].ReplicationFactor != -1 ||
			!maps.Equal(got[i].Wanted(), want[i].Wanted()) {
			t.Errorf("spec %d: All %+v, ForConfig %+v", i, got[i], want[i])
		}
	}
	// Without a config, streams keep 7 days and tables never expire.
	if r := got[0].Configs["retention.ms"]; got[0].Name != "sluice.events.raw" || r != "604800000" {
		t.Errorf("%s retention.ms %s, want 604800000", got[0].Name, r)
	}
}

// No stream keeps an event longer than its source's retention: the streams'
// retention.ms is the shortest of topics.streamRetention and the retentions
// of the workspace and its sources; tables and the audit trail keep theirs.
func TestStreamRetentionIsTheShortestSourceRetention(t *testing.T) {
	day := 24 * time.Hour
	for _, tc := range []struct {
		name string
		cfg  config.Config
		want string
	}{
		{"no retention", config.Config{}, "604800000"},
		{"a source shorter", config.Config{Sources: []config.Source{
			{Name: "web", Retention: config.D(90 * day)}, {Name: "ios", Retention: config.D(36 * time.Hour)}}}, "129600000"},
		{"the workspace shorter", config.Config{Retention: config.D(2 * day), Sources: []config.Source{{Name: "web", Retention: config.D(90 * day)}}}, "172800000"},
		{"all longer than streamRetention", config.Config{Retention: config.D(30 * day)}, "604800000"},
		{"streamRetention shorter", config.Config{Retention: config.D(30 * day), Topics: config.Topics{StreamRetention: config.D(day)}}, "86400000"},
	} {
		tc.cfg.Destinations = []config.Destination{{Name: "warehouse"}}
		for _, s := range topics.ForConfig(tc.cfg) {
			want := tc.want
			switch {
			case s.Compacted:
				want = "-1"
			case s.Name == "sluice.audit":
				want = "34560000000"
			}
			if got := s.Configs["retention.ms"]; got != want {
				t.Errorf("%s: %s retention.ms %s, want %s", tc.name, s.Name, got, want)
			}
		}
	}
}
