package config_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sluicehq/sluice/topology/config"
)

func TestTopicsDefaults(t *testing.T) {
	c, err := config.Parse([]byte("workspace: acme\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Topics{
		ReplicationFactor: -1,
		StreamRetention:   config.D(7 * 24 * time.Hour),
		Compaction:        config.Compaction{Segment: config.D(time.Hour), DeleteRetention: config.D(time.Hour)},
	}
	if c.Topics != want {
		t.Errorf("topics defaults %+v, want %+v", c.Topics, want)
	}
	// The zero value in code gets the same defaults.
	if got := (config.Config{}).WithDefaults().Topics; got != want {
		t.Errorf("WithDefaults: %+v, want %+v", got, want)
	}
}

func TestTopicsParse(t *testing.T) {
	c, err := config.Parse([]byte(`
topics:
  replicationFactor: 3
  minInsyncReplicas: 2
  streamRetention: 14d
  compaction:
    segment: 30m
    deleteRetention: 1d12h
`))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Topics{
		ReplicationFactor: 3,
		MinInsyncReplicas: 2,
		StreamRetention:   config.D(14 * 24 * time.Hour),
		Compaction:        config.Compaction{Segment: config.D(30 * time.Minute), DeleteRetention: config.D(36 * time.Hour)},
	}
	if c.Topics != want {
		t.Errorf("got %+v, want %+v", c.Topics, want)
	}
	c, err = config.Parse([]byte("topics: {streamRetention: 168h}\n"))
	if err != nil || c.Topics.StreamRetention.Duration != 7*24*time.Hour {
		t.Errorf("168h: %v %v", c.Topics.StreamRetention, err)
	}
}

func TestTopicsErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		yaml, want string
	}{
		{"streamRetention: 7x", `config: topics.streamRetention "7x": want a duration like 168h, 90m or 7d`},
		{"streamRetention: 1.5d", `config: topics.streamRetention "1.5d": want a duration like 168h, 90m or 7d`},
		{"streamRetention: 7", `config: topics.streamRetention "7": want a duration like 168h, 90m or 7d`},
		{"streamRetention: -1h", "config: topics.streamRetention -1h0m0s: must be at least 1ms"},
		{"streamRetention: 10us", "config: topics.streamRetention 10µs: must be at least 1ms"},
		{"compaction: {segment: soon}", `config: topics.compaction.segment "soon": want a duration like 168h, 90m or 7d`},
		{"compaction: {deleteRetention: -5m}", "config: topics.compaction.deleteRetention -5m0s: must be at least 1ms"},
		{"replicationFactor: -2", "config: topics.replicationFactor -2: want -1 (the broker's default) or at least 1"},
		{"minInsyncReplicas: -1", "config: topics.minInsyncReplicas -1: must not be negative (0 keeps the broker's default)"},
		{"{replicationFactor: 2, minInsyncReplicas: 3}", "config: topics.minInsyncReplicas 3: more than replicationFactor 2, no write could succeed"},
	} {
		_, err := config.Parse([]byte("topics: " + indentFlow(tc.yaml) + "\n"))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s:\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
	// Shapes the decoder refuses before validation.
	for _, tc := range []struct{ yaml, want string }{
		{"topics: {retention: 7d}", "field retention not found"},
		{"topics: {streamRetention: [7d]}", "want a duration like 168h or 7d"},
	} {
		_, err := config.Parse([]byte(tc.yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to mention %q", tc.yaml, err, tc.want)
		}
	}
}

// indentFlow makes "key: value" a flow mapping and leaves one as it is.
func indentFlow(s string) string {
	if strings.HasPrefix(s, "{") {
		return s
	}
	return "{" + s + "}"
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "1d12h": 36 * time.Hour, "168h": 168 * time.Hour,
		"90m": 90 * time.Minute, "0d": 0, " 2d ": 48 * time.Hour,
	} {
		if got, err := config.ParseDuration(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "7", "1.5d", "-7d", "7d-1h", "7days", "x7d"} {
		if got, err := config.ParseDuration(in); err == nil {
			t.Errorf("%q: %v, want an error", in, got)
		}
	}
}

func TestDurationYAMLRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{7 * 24 * time.Hour, 90 * time.Minute, 36 * time.Hour} {
		out, err := yaml.Marshal(config.Topics{StreamRetention: config.D(d)})
		if err != nil {
			t.Fatal(err)
		}
		var back config.Topics
		if err := yaml.Unmarshal(out, &back); err != nil || back.StreamRetention.Duration != d {
			t.Errorf("%v: wrote %q, read %v %v", d, out, back.StreamRetention, err)
		}
	}
	if s := config.D(7 * 24 * time.Hour).String(); s != "7d" {
		t.Errorf("7 days: %q", s)
	}
}
