package regulator

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/topology/topics"
)

// Config configures the regulations service: the admin handler (NewHandler)
// and the regulator role (Service.Run) of one workspace. Workspace is
// required; every other field has a working zero value.
type Config struct {
	// Workspace names the tenant whose subjects regulations name (config
	// workspace). Required.
	Workspace string
	// Brokers are the seed brokers; default ["127.0.0.1:9092"].
	Brokers []string
	// ClientOpts are extra franz-go options (TLS, SASL, …) for every client.
	ClientOpts []kgo.Opt
	// Topics names the topics; default prefix "sluice.".
	Topics topics.Names
	// Warehouse is sluice's own ClickHouse database, opened from the
	// clickhouse destination's settings (clickhouse.OpenWarehouse): it is
	// exported from and counted after every delete (FINISHED needs zero
	// rows). Nil: sluice has no ClickHouse tables. The caller closes it.
	Warehouse Warehouse
	// Destinations are the configured destinations, in config order.
	Destinations []Destination
	// RouterGroup is the router's consumer group; default "sluice-router".
	RouterGroup string
	// SinkGroupPrefix prefixes a destination's name to make its sink's
	// consumer group; default "sluice-sink-".
	SinkGroupPrefix string
	// OwnerGroup is the group regulators join to share the regulations
	// topic's partitions, so each regulation has one regulator at a time.
	// Default "sluice-regulator"; "-" means this regulator is alone.
	OwnerGroup string
	// BatchMaxSubjects caps the subject ids of one batch of regulations (one
	// delete call per destination); default 50,000. A larger regulation
	// forms a batch of its own.
	BatchMaxSubjects int
	// PollInterval is how often a waiting regulator looks at group offsets,
	// and the longest it sleeps with work pending; default 250ms.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the wait before retrying a failed step,
	// doubling from MinBackoff (default 500ms) up to MaxBackoff (default 1m).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts is how many failed attempts a step may have before it is
	// FAILED; default 50 (about 45 minutes at the default backoff).
	MaxAttempts int
	// ProduceTimeout bounds a wait for the broker's acknowledgement; default 10s.
	ProduceTimeout time.Duration
	// Keyring unwraps the data keys of the keys topic (crypto-shredding,
	// package processors/shred); the regulator tombstones the keys of every
	// deleted subject and keeps the topic healthy (see keys.go). Nil:
	// encryption is disabled and the keys step is NOT_SUPPORTED.
	Keyring *shred.Keyring
	// UnattributedTTL is how long after the end of its day an unattributed
	// key (of records without a subject) is shredded: the streams' retention
	// (topics.streamRetention), so no record is unreadable before it would
	// expire anyway. Default 7 days, the default retention.
	UnattributedTTL time.Duration
	// KeysInterval is how often the regulator repairs the keys topic,
	// expires unattributed keys and re-wraps keys under an old KEK; default 30s.
	KeysInterval time.Duration
	// Erased, when set, is told of every regulation erased from the
	// regulations topic by a record no sluice writer makes: a tombstone, or
	// a record it cannot read (compaction would keep it instead of the
	// regulation). It runs on the topic's follower and must not block.
	Erased func(id, detail string)
	// Logger receives progress and failures; default discards.
	Logger *slog.Logger
}

// Destination is one configured destination as the regulator sees it.
type Destination struct {
	// Name is the destination's config name; its topic is dest.<Name> and
	// its sink's group SinkGroupPrefix+Name.
	Name string
	// Internal marks sluice's own storage (the clickhouse destinations):
	// deleted by every DELETE* type. Other destinations are deletion
	// forwarding targets, skipped by *_INTERNAL types.
	Internal bool
	// Deleter deletes at the destination; nil means it cannot delete and its
	// status is NOT_SUPPORTED, except for an Internal destination when
	// Warehouse is set: the Warehouse deletes for it.
	Deleter sinks.Deleter
}

// Defaults of Config.
const (
	DefaultRouterGroup      = "sluice-router"
	DefaultSinkGroupPrefix  = "sluice-sink-"
	DefaultOwnerGroup       = "sluice-regulator"
	DefaultBatchMaxSubjects = 50_000
	DefaultPollInterval     = 250 * time.Millisecond
	DefaultMinBackoff       = 500 * time.Millisecond
	DefaultMaxBackoff       = time.Minute
	DefaultMaxAttempts      = 50
	DefaultProduceTimeout   = 10 * time.Second
	DefaultUnattributedTTL  = 7 * 24 * time.Hour
	DefaultKeysInterval     = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if len(c.Brokers) == 0 {
		c.Brokers = []string{"127.0.0.1:9092"}
	}
	if c.Topics.Prefix == "" {
		c.Topics.Prefix = "sluice."
	}
	if c.RouterGroup == "" {
		c.RouterGroup = DefaultRouterGroup
	}
	if c.SinkGroupPrefix == "" {
		c.SinkGroupPrefix = DefaultSinkGroupPrefix
	}
	if c.OwnerGroup == "" {
		c.OwnerGroup = DefaultOwnerGroup
	}
	if c.BatchMaxSubjects <= 0 {
		c.BatchMaxSubjects = DefaultBatchMaxSubjects
	}
	if c.PollInterval <= 0 {
		c.PollInterval = DefaultPollInterval
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = DefaultMaxBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = c.MinBackoff
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.ProduceTimeout <= 0 {
		c.ProduceTimeout = DefaultProduceTimeout
	}
	if c.UnattributedTTL <= 0 {
		c.UnattributedTTL = DefaultUnattributedTTL
	}
	if c.KeysInterval <= 0 {
		c.KeysInterval = DefaultKeysInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.Workspace == "" || strings.IndexByte(c.Workspace, '/') >= 0 {
		return fmt.Errorf("regulator: Workspace %q: required, without /", c.Workspace)
	}
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			return fmt.Errorf("regulator: Brokers[%d] is empty", i)
		}
	}
	names := map[string]bool{}
	for i, d := range c.Destinations {
		if d.Name == "" {
			return fmt.Errorf("regulator: Destinations[%d].Name: required", i)
		}
		if names[d.Name] {
			return fmt.Errorf("regulator: Destinations[%d].Name %q: duplicate", i, d.Name)
		}
		names[d.Name] = true
	}
	if c.BatchMaxSubjects < 0 || c.MaxAttempts < 0 {
		return errors.New("regulator: BatchMaxSubjects and MaxAttempts must not be negative")
	}
	return nil
}

// sinkGroup is the consumer group of a destination's sink.
func (c Config) sinkGroup(dest string) string { return c.SinkGroupPrefix + dest }

// backoff is the wait before attempt n+1 after n failed attempts.
func (c Config) backoff(n int) time.Duration {
	d := c.MinBackoff
	for i := 1; i < n && d < c.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, c.MaxBackoff)
}
