// Package topics names sluice's Kafka topics and keeps them as infrastructure:
// each one a Spec (partitions, replication, configs) built from the config's
// topics section, planned against the cluster (Plan), made so (Apply), and
// checked by every role at start (Check).
//
// Streams (events.raw, dest.*, violations, deadletter) have cleanup.policy
// delete and expire after topics.streamRetention, or the shortest retention
// the workspace or a source sets if that is shorter (StreamRetention): no
// stream keeps an event longer than its source allows. Tables (tracking-plans,
// suppressions, consent, profiles, identities, regulations, keys,
// admin-tokens) have cleanup.policy compact and never expire by age or size:
// retention.ms and retention.bytes are -1, set explicitly because some
// brokers (kfake among them) apply a retention.ms to compacted topics too.
// The audit trail is a stream kept AuditRetention (400 days), whatever the
// streams' retention: it is the record of who did what to whose data.
//
// # How long a deleted value stays on the broker
//
// A table deletes a key with a tombstone. With S = segment.ms =
// max.compaction.lag.ms (topics.compaction.segment, default 1h),
// R = delete.retention.ms (topics.compaction.deleteRetention, default 1h),
// min.compaction.lag.ms 0 and B the cleaner backlog (log.cleaner.backoff.ms
// plus the cleaning of dirtier logs ahead of this one):
//
//	a tombstoned value is gone from the broker at most S + B after the tombstone;
//	the tombstone itself at most R + B after that.
//
// max.compaction.lag.ms makes the log cleanable after S whatever its dirty
// ratio (min.cleanable.dirty.ratio only makes cleaning start earlier), and
// caps segment.ms of the active segment. Kafka rolls a segment only when a
// record arrives, so the bound holds for a partition that is written to after
// S; on an idle partition the tombstone waits in the active segment.
package topics

import (
	"maps"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/config"
)

// Topic base names, before the prefix.
const (
	Raw           = "events.raw"
	TrackingPlans = "tracking-plans"
	Suppressions  = "suppressions"
	Consent       = "consent"
	Profiles      = "profiles"
	Identities    = "identities"
	Regulations   = "regulations"
	// Keys holds the subjects' data keys, wrapped by a KEK; a tombstone
	// shreds every stream record sealed under the key (package processors/shred).
	Keys       = "keys"
	Violations = "violations"
	DeadLetter = "deadletter"
	// AdminTokens holds the admin API's personal tokens, hashed, keyed by
	// token id; only the CLI's principal writes it (package topology/admin).
	AdminTokens = "admin-tokens"
	// Audit is the append-only trail of admin actions (package topology/admin).
	Audit      = "audit"
	destPrefix = "dest."
)

// AuditRetention is retention.ms of the audit topic: longer than a year, so
// that a year's requests can be accounted for.
const AuditRetention = 400 * 24 * time.Hour

// RegulationsMaxBytes is max.message.bytes of the regulations topic (8 MiB),
// and the largest regulation record the regulator writes.
const RegulationsMaxBytes = 8 << 20

// bases are the fixed topics, in the order plans list them.
var bases = []string{Raw, TrackingPlans, Suppressions, Consent, Profiles, Identities, Regulations, Keys, AdminTokens, Violations, DeadLetter, Audit}

// compacted are the tables: the latest value per key is what counts and a
// tombstone deletes the key.
var compacted = map[string]bool{
	TrackingPlans: true, Suppressions: true, Consent: true,
	Profiles: true, Identities: true, Regulations: true, Keys: true, AdminTokens: true,
}

// Names resolves topic names under a prefix.
type Names struct {
	// Prefix prefixes every topic; "sluice." in the default config.
	Prefix string
}

// Of returns the full name of a base topic, e.g. Of(Raw) = "sluice.events.raw".
func (n Names) Of(base string) string { return n.Prefix + base }

// Destination returns the topic of a destination, e.g. "sluice.dest.warehouse".
func (n Names) Destination(name string) string { return n.Prefix + destPrefix + name }

// Cleanup policies.
const (
	PolicyDelete  = "delete"
	PolicyCompact = "compact"
)

// Spec is a topic as sluice needs it. The zero value of every field but Name
// means the broker's default.
type Spec struct {
	// Name is the full topic name.
	Name string
	// Partitions is the partition count a new topic gets; 0 is the broker's
	// default. An existing topic with fewer is reported, never grown.
	Partitions int32
	// ReplicationFactor is the replicas per partition of a new topic; 0 or -1
	// is the broker's default. An existing topic's is reported, never changed.
	ReplicationFactor int16
	// Compacted makes the topic a table (cleanup.policy compact) rather than
	// a stream (delete).
	Compacted bool
	// Configs are the topic configs besides cleanup.policy, which Compacted
	// decides. Apply sets each; configs not listed are left as they are.
	Configs map[string]string
}

// Policy is the spec's cleanup.policy.
func (s Spec) Policy() string {
	if s.Compacted {
		return PolicyCompact
	}
	return PolicyDelete
}

// Wanted returns every config the topic must have, cleanup.policy included.
func (s Spec) Wanted() map[string]string {
	w := make(map[string]string, len(s.Configs)+1)
	maps.Copy(w, s.Configs)
	w[cleanupPolicy] = s.Policy()
	return w
}

const cleanupPolicy = "cleanup.policy"

// ForConfig lists every topic a workspace needs, the fixed ones and one per
// destination, with the partitions, replication and configs of cfg (defaults
// filled in).
func ForConfig(cfg config.Config) []Spec {
	cfg = cfg.WithDefaults()
	dests := make([]string, len(cfg.Destinations))
	for i, d := range cfg.Destinations {
		dests[i] = d.Name
	}
	t := cfg.Topics
	t.StreamRetention = config.D(StreamRetention(cfg))
	return Names{Prefix: cfg.TopicPrefix}.specs(cfg.Partitions, t, dests)
}

// StreamRetention is retention.ms of the streams: topics.streamRetention,
// or the shortest retention of the workspace and its sources (see
// config.Config.ShortestRetention) when that is shorter.
func StreamRetention(cfg config.Config) time.Duration {
	r := cfg.WithDefaults().Topics.StreamRetention.Duration
	if shortest, ok := cfg.ShortestRetention(); ok && shortest < r {
		return shortest
	}
	return r
}

// All lists every topic a workspace needs, as ForConfig does, with the
// default topics settings: for tests and tools that have no config file.
func (n Names) All(partitions int32, destinations []string) []Spec {
	return n.specs(partitions, config.Config{}.WithDefaults().Topics, destinations)
}

func (n Names) specs(partitions int32, t config.Topics, destinations []string) []Spec {
	stream := map[string]string{
		"retention.ms": millis(t.StreamRetention.Duration),
	}
	table := map[string]string{
		"retention.ms":              "-1",
		"retention.bytes":           "-1",
		"segment.ms":                millis(t.Compaction.Segment.Duration),
		"max.compaction.lag.ms":     millis(t.Compaction.Segment.Duration),
		"min.compaction.lag.ms":     "0",
		"delete.retention.ms":       millis(t.Compaction.DeleteRetention.Duration),
		"min.cleanable.dirty.ratio": "0.1",
	}
	if t.MinInsyncReplicas > 0 {
		v := strconv.Itoa(t.MinInsyncReplicas)
		stream["min.insync.replicas"] = v
		table["min.insync.replicas"] = v
	}
	spec := func(name string, isTable bool) Spec {
		s := Spec{Name: name, Partitions: partitions, ReplicationFactor: t.ReplicationFactor, Compacted: isTable, Configs: stream}
		if isTable {
			s.Configs = table
		}
		s.Configs = maps.Clone(s.Configs)
		return s
	}
	specs := make([]Spec, 0, len(bases)+len(destinations))
	for _, b := range bases {
		s := spec(n.Of(b), compacted[b])
		if b == Regulations {
			// A regulation names up to 5,000 subjects and keeps its
			// receipts: more than the broker's default 1 MiB record.
			s.Configs["max.message.bytes"] = strconv.Itoa(RegulationsMaxBytes)
		}
		if b == Audit {
			// The record of a filing names its up to 5,000 subjects too.
			s.Configs["retention.ms"] = millis(AuditRetention)
			s.Configs["max.message.bytes"] = strconv.Itoa(RegulationsMaxBytes)
		}
		specs = append(specs, s)
	}
	for _, d := range destinations {
		specs = append(specs, spec(n.Destination(d), false))
	}
	return specs
}

func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// BatchCompression is the batch compression of the api's producer: none
// when values are sealed (ciphertext does not compress, and every sealed
// value was compressed on its own before it was sealed), else snappy,
// franz-go's default. Measured with `sluice bench ingest --encryption`
// (two runs each): sealed/plaintext throughput 0.53, 0.48 with snappy, 0.56,
// 0.58 without; 3% more bytes. The router keeps snappy: its batches also
// carry the unsealed tables and headers, and the same comparison showed no
// gain there (0.62, 0.66 with; 0.60, 0.60 without) and 4% more bytes.
func BatchCompression(sealed bool) kgo.Opt {
	if sealed {
		return kgo.ProducerBatchCompression(kgo.NoCompression())
	}
	return kgo.ProducerBatchCompression(kgo.SnappyCompression(), kgo.NoCompression())
}
