package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Topics are the settings `sluice topics apply` creates and alters sluice's
// topics with (package topology/topics turns them into topic configs). The
// zero value is usable: every field has a default.
type Topics struct {
	// ReplicationFactor is the replicas of every partition of a topic sluice
	// creates. Default -1: the broker's default.replication.factor; 3 is
	// typical in production. Apply never changes it on an existing topic.
	ReplicationFactor int16 `yaml:"replicationFactor"`
	// MinInsyncReplicas sets min.insync.replicas on every topic. Default 0:
	// not set, the broker's default holds.
	MinInsyncReplicas int `yaml:"minInsyncReplicas"`
	// StreamRetention is retention.ms of the delete-policy topics
	// (events.raw, dest.*, violations, deadletter). Default 7d.
	StreamRetention Duration `yaml:"streamRetention"`
	// Compaction bounds how long a tombstoned value of a compacted table
	// stays on the broker; see Compaction.
	Compaction Compaction `yaml:"compaction"`
}

// Compaction are the settings of the compacted tables (tracking-plans,
// suppressions, consent, profiles, identities, regulations). A tombstoned
// value is gone from the broker at most Segment + cleaner backlog after the
// tombstone; the tombstone itself at most DeleteRetention after that.
type Compaction struct {
	// Segment is segment.ms and max.compaction.lag.ms of the tables: how long
	// a record waits at most before the cleaner may remove what it replaces.
	// Default 1h.
	Segment Duration `yaml:"segment"`
	// DeleteRetention is delete.retention.ms of the tables: how long a
	// tombstone outlives the values it deleted, so that a reader catching up
	// sees the delete. Default 1h.
	DeleteRetention Duration `yaml:"deleteRetention"`
}

// Topics defaults.
const (
	DefaultReplicationFactor = -1
	DefaultStreamRetention   = 7 * 24 * time.Hour
	DefaultCompactionSegment = time.Hour
	DefaultDeleteRetention   = time.Hour
)

func (t Topics) withDefaults() Topics {
	if t.ReplicationFactor == 0 {
		t.ReplicationFactor = DefaultReplicationFactor
	}
	if t.StreamRetention.Duration == 0 && t.StreamRetention.bad == "" {
		t.StreamRetention.Duration = DefaultStreamRetention
	}
	if t.Compaction.Segment.Duration == 0 && t.Compaction.Segment.bad == "" {
		t.Compaction.Segment.Duration = DefaultCompactionSegment
	}
	if t.Compaction.DeleteRetention.Duration == 0 && t.Compaction.DeleteRetention.bad == "" {
		t.Compaction.DeleteRetention.Duration = DefaultDeleteRetention
	}
	return t
}

// validate names the first bad field, relative to the topics section.
func (t Topics) validate() error {
	if t.ReplicationFactor < 1 && t.ReplicationFactor != -1 {
		return fmt.Errorf("replicationFactor %d: want -1 (the broker's default) or at least 1", t.ReplicationFactor)
	}
	if t.MinInsyncReplicas < 0 {
		return fmt.Errorf("minInsyncReplicas %d: must not be negative (0 keeps the broker's default)", t.MinInsyncReplicas)
	}
	if t.MinInsyncReplicas > 0 && t.ReplicationFactor > 0 && t.MinInsyncReplicas > int(t.ReplicationFactor) {
		return fmt.Errorf("minInsyncReplicas %d: more than replicationFactor %d, no write could succeed", t.MinInsyncReplicas, t.ReplicationFactor)
	}
	for _, d := range []struct {
		field string
		d     Duration
	}{
		{"streamRetention", t.StreamRetention},
		{"compaction.segment", t.Compaction.Segment},
		{"compaction.deleteRetention", t.Compaction.DeleteRetention},
	} {
		if err := d.d.validate(); err != nil {
			return fmt.Errorf("%s %w", d.field, err)
		}
	}
	return nil
}

// Duration is a length of time in the config, written as a Go duration
// ("168h", "90m") or with whole years (365 days) or days in front ("3y",
// "7d", "1d12h"). It must be positive and at least a millisecond, the unit
// of Kafka's topic configs.
type Duration struct {
	time.Duration
	// bad is text that did not parse; validate reports it under the
	// field's name, which the YAML decoder does not know.
	bad string
}

// D returns a Duration of d, for building configs in code.
func D(d time.Duration) Duration { return Duration{Duration: d} }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a duration like 168h or 7d", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		*d = Duration{bad: n.Value}
		return nil
	}
	*d = Duration{Duration: v}
	return nil
}

// MarshalYAML writes the duration as String does.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Units of ParseDuration beyond time.ParseDuration's.
const (
	Day  = 24 * time.Hour
	Year = 365 * Day
)

// String writes whole years as "3y", whole days as "7d", anything else as
// time.Duration does.
func (d Duration) String() string {
	switch {
	case d.Duration > 0 && d.Duration%Year == 0:
		return strconv.FormatInt(int64(d.Duration/Year), 10) + "y"
	case d.Duration > 0 && d.Duration%Day == 0:
		return strconv.FormatInt(int64(d.Duration/Day), 10) + "d"
	}
	return d.Duration.String()
}

func (d Duration) validate() error {
	switch {
	case d.bad != "":
		return fmt.Errorf("%q: want a duration like 168h, 90m or 7d", d.bad)
	case d.Duration < time.Millisecond:
		return fmt.Errorf("%s: must be at least 1ms", d.Duration)
	}
	return nil
}

// ParseDuration parses a Go duration with optional leading counts of years
// (of 365 days) and days: "3y", "1y30d", "7d", "1d12h", "168h", "90m".
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	orig := s
	var whole time.Duration
	counted := false
	for _, u := range []struct {
		suffix byte
		unit   time.Duration
		name   string
	}{{'y', Year, "years"}, {'d', Day, "days"}} {
		i := strings.IndexByte(s, u.suffix)
		if i <= 0 {
			continue
		}
		n, err := strconv.ParseUint(s[:i], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %s must be a whole number", orig, u.name)
		}
		if time.Duration(n) > (math.MaxInt64-whole)/u.unit {
			return 0, fmt.Errorf("duration %q: too long", orig)
		}
		whole += time.Duration(n) * u.unit
		counted = true
		s = s[i+1:]
	}
	if counted && s == "" {
		return whole, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if counted && d < 0 {
		return 0, fmt.Errorf("duration %q: days and a negative rest", orig)
	}
	if d > math.MaxInt64-whole {
		return 0, fmt.Errorf("duration %q: too long", orig)
	}
	return whole + d, nil
}
