// Package config is the typed form of sluice.yaml: workspace, sources and their
// write keys, consent categories and destinations. The zero value is usable:
// Defaults fills what a file leaves out, Validate names the first bad field.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Config is one workspace's pipeline.
type Config struct {
	// Workspace names the tenant; it prefixes every Kafka key. Default "default".
	Workspace string `yaml:"workspace"`
	// TopicPrefix prefixes every sluice topic. Default "sluice.".
	TopicPrefix string `yaml:"topicPrefix"`
	// Partitions is the partition count of topics sluice creates. Default 3.
	Partitions int32 `yaml:"partitions"`
	// Retention is how long every source's events are kept (in the
	// warehouse tables and the stream topics) unless the source sets its
	// own; see Retentions. Default (absent or 0): kept forever.
	Retention Duration `yaml:"retention"`
	// Kafka is the cluster `sluice run` connects to; `sluice dev` ignores it.
	Kafka Kafka `yaml:"kafka"`
	// Topics are the settings `sluice topics apply` creates topics with.
	Topics Topics `yaml:"topics"`
	// Sources are the senders of events, each with its own write key.
	Sources []Source `yaml:"sources"`
	// Consent maps consent categories and says what a missing consent means.
	Consent Consent `yaml:"consent"`
	// Destinations receive routed events.
	Destinations []Destination `yaml:"destinations"`
	// Encryption keys the crypto-shredding of the stream topics; see Encryption.
	Encryption Encryption `yaml:"encryption"`
}

// Source is one sender of events (a website, an app, a backend).
type Source struct {
	// Name identifies the source in events and tables.
	Name string `yaml:"name"`
	// WriteKey authenticates the tracking API; unique across sources.
	WriteKey string `yaml:"writeKey"`
	// TrackingPlan names the plan this source's events are validated against;
	// empty means no plan.
	TrackingPlan string `yaml:"trackingPlan"`
	// RateLimit caps the events per second this source may send, counting
	// refused input (a refused request or batch item costs one event);
	// 0 is unlimited.
	RateLimit float64 `yaml:"rateLimit"`
	// DeadLettersPerSecond caps the dead-letter records this source's
	// refused input writes; past it they are counted, not written.
	// Default 10 (bursts of 10).
	DeadLettersPerSecond float64 `yaml:"deadLettersPerSecond"`
	// AllowedOrigins are the web origins ("https://shop.example", or
	// "https://*.example.com" for its subdomains) whose pages may send with
	// this write key; requests from other origins are refused. Empty: any.
	AllowedOrigins []string `yaml:"allowedOrigins"`
	// IP is what the tracking API records as context.ip of an event that
	// carries none, from the request's address: IPTruncated (default: IPv4
	// to its /24, IPv6 to its /48), IPFull, or IPNone.
	IP string `yaml:"ip"`
	// Retention overrides the workspace's retention for this source's
	// events ("30d", "90d", "3y"); see Config.Retentions. Default: the
	// workspace's.
	Retention Duration `yaml:"retention"`
}

// DefaultDeadLettersPerSecond is Source.DeadLettersPerSecond's default.
const DefaultDeadLettersPerSecond = 10

// IP policies of a source.
const (
	IPTruncated = "truncated"
	IPFull      = "full"
	IPNone      = "none"
)

var originRE = regexp.MustCompile(`^https?://(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?(:[0-9]{1,5})?$|^https?://\[[0-9a-fA-F:.]+\](:[0-9]{1,5})?$`)

func (s Source) validate() error {
	if s.RateLimit < 0 {
		return fmt.Errorf("rateLimit: must not be negative")
	}
	if s.DeadLettersPerSecond < 0 {
		return fmt.Errorf("deadLettersPerSecond: must not be negative")
	}
	for j, o := range s.AllowedOrigins {
		if !originRE.MatchString(o) {
			return fmt.Errorf("allowedOrigins[%d] %q: want scheme://host[:port], such as https://shop.example or https://*.example.com, without a path", j, o)
		}
	}
	switch s.IP {
	case "", IPTruncated, IPFull, IPNone:
	default:
		return fmt.Errorf("ip %q: want truncated, full or none", s.IP)
	}
	return nil
}

// Consent is the workspace's consent policy.
type Consent struct {
	// Categories are the consent categories destinations may be mapped to.
	Categories []string `yaml:"categories"`
	// WhenMissing decides an event with no consent, neither on the event nor
	// stored for its user: WhenMissingDeny (default) or WhenMissingAllow.
	WhenMissing string `yaml:"whenMissing"`
}

// WhenMissing values.
const (
	WhenMissingDeny  = "deny"
	WhenMissingAllow = "allow"
)

// Destination kinds.
const (
	DestinationClickHouse = "clickhouse"
	DestinationWebhook    = "webhook"
	DestinationKafka      = "kafka"
)

// Destination is one place events are delivered to.
type Destination struct {
	// Name identifies the destination; its topic is dest.<Name>.
	Name string `yaml:"name"`
	// Type is one of clickhouse, webhook, kafka.
	Type string `yaml:"type"`
	// Categories are the consent categories that must all be granted for an
	// event to reach this destination; empty means no consent is required.
	Categories []string `yaml:"categories"`
	// Settings are the destination kind's own settings (url, topic, database…).
	Settings map[string]any `yaml:"settings"`
	// Filters run in order before delivery; see Filter.
	Filters []Filter `yaml:"filters"`
	// Retry is how long delivery retries when the destination fails.
	Retry Retry `yaml:"retry"`
	// Dedup is how long a delivered messageId is remembered and skipped.
	Dedup Dedup `yaml:"dedup"`
}

// Filter is one destination filter. Exactly one field is set.
type Filter struct {
	// Sample keeps this percentage of events (0–100).
	Sample *Sample `yaml:"sample,omitempty"`
	// Drop drops events for which this expression holds.
	Drop string `yaml:"drop,omitempty"`
	// DropProperties removes these properties.
	DropProperties []string `yaml:"dropProperties,omitempty"`
	// AllowProperties keeps only these properties.
	AllowProperties []string `yaml:"allowProperties,omitempty"`
}

// Sample keeps Percent of events, chosen by hashing Path (deterministic per
// value, e.g. "userId") or at random when Path is empty.
type Sample struct {
	Percent float64 `yaml:"percent"`
	Path    string  `yaml:"path"`
}

// Load reads and validates a config file, strictly: unknown fields are errors.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse decodes YAML strictly, applies defaults and validates.
func Parse(data []byte) (Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file is the zero config, which yaml reports as io.EOF.
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// WithDefaults returns c with every unset field given its documented default.
func (c Config) WithDefaults() Config {
	if c.Workspace == "" {
		c.Workspace = "default"
	}
	if c.TopicPrefix == "" {
		c.TopicPrefix = "sluice."
	}
	if c.Partitions == 0 {
		c.Partitions = 3
	}
	if c.Consent.WhenMissing == "" {
		c.Consent.WhenMissing = WhenMissingDeny
	}
	c.Kafka = c.Kafka.withDefaults()
	c.Topics = c.Topics.withDefaults()
	return c
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$`)

// Validate names the first bad field.
func (c Config) Validate() error {
	if !nameRE.MatchString(c.Workspace) {
		return fmt.Errorf("config: workspace %q: want letters, digits, _ or -, at most 63", c.Workspace)
	}
	if c.Partitions < 1 {
		return fmt.Errorf("config: partitions %d: must be at least 1", c.Partitions)
	}
	if err := c.Kafka.validate(); err != nil {
		return fmt.Errorf("config: kafka.%w", err)
	}
	if err := c.Topics.validate(); err != nil {
		return fmt.Errorf("config: topics.%w", err)
	}
	if err := c.Encryption.validate(); err != nil {
		return fmt.Errorf("config: encryption.%w", err)
	}
	if err := c.Retention.validateRetention(); err != nil {
		return fmt.Errorf("config: retention %w", err)
	}
	keys := map[string]string{}
	names := map[string]bool{}
	for i, s := range c.Sources {
		if !nameRE.MatchString(s.Name) {
			return fmt.Errorf("config: sources[%d].name %q: want letters, digits, _ or -", i, s.Name)
		}
		if names[s.Name] {
			return fmt.Errorf("config: sources[%d].name %q: duplicate", i, s.Name)
		}
		names[s.Name] = true
		if s.WriteKey == "" {
			return fmt.Errorf("config: sources[%d].writeKey: required", i)
		}
		if other, dup := keys[s.WriteKey]; dup {
			return fmt.Errorf("config: sources[%d].writeKey: already used by source %q", i, other)
		}
		keys[s.WriteKey] = s.Name
		if err := s.validate(); err != nil {
			return fmt.Errorf("config: sources[%d].%w", i, err)
		}
		if err := s.Retention.validateRetention(); err != nil {
			return fmt.Errorf("config: sources[%s].retention %w", s.Name, err)
		}
	}
	switch c.Consent.WhenMissing {
	case WhenMissingDeny, WhenMissingAllow:
	default:
		return fmt.Errorf("config: consent.whenMissing %q: want deny or allow", c.Consent.WhenMissing)
	}
	categories := map[string]bool{}
	for _, cat := range c.Consent.Categories {
		categories[cat] = true
	}
	dests := map[string]bool{}
	for i, d := range c.Destinations {
		if !nameRE.MatchString(d.Name) {
			return fmt.Errorf("config: destinations[%d].name %q: want letters, digits, _ or -", i, d.Name)
		}
		if dests[d.Name] {
			return fmt.Errorf("config: destinations[%d].name %q: duplicate", i, d.Name)
		}
		dests[d.Name] = true
		switch d.Type {
		case DestinationClickHouse, DestinationWebhook, DestinationKafka:
		default:
			return fmt.Errorf("config: destinations[%d].type %q: want clickhouse, webhook or kafka", i, d.Type)
		}
		for _, cat := range d.Categories {
			if !categories[cat] {
				return fmt.Errorf("config: destinations[%d].categories: %q is not in consent.categories", i, cat)
			}
		}
		if err := d.Retry.validate(); err != nil {
			return fmt.Errorf("config: destinations[%d].%w", i, err)
		}
		if err := d.Dedup.validate(); err != nil {
			return fmt.Errorf("config: destinations[%d].%w", i, err)
		}
		for j, f := range d.Filters {
			if err := f.validate(); err != nil {
				return fmt.Errorf("config: destinations[%d].filters[%d]: %w", i, j, err)
			}
		}
		if err := c.outlastsRetries(d); err != nil {
			return fmt.Errorf("config: %w", err)
		}
	}
	return nil
}

// outlastsRetries checks that the streams keep an event longer than d
// retries it: they keep events no longer than topics.streamRetention or the
// shortest retention, and an event waiting out an outage must not expire
// from dest.<name> before it is delivered.
func (c Config) outlastsRetries(d Destination) error {
	horizon := d.Retry.WithDefaults().Horizon.Duration
	if r := c.Topics.StreamRetention.Duration; r > 0 && r <= horizon {
		return fmt.Errorf("topics.streamRetention %s: must exceed destinations[%s].retry.horizon %s, or events waiting out an outage expire undelivered", c.Topics.StreamRetention, d.Name, Duration{Duration: horizon})
	}
	if r, ok := c.ShortestRetention(); ok && r <= horizon {
		return fmt.Errorf("retention %s: must exceed destinations[%s].retry.horizon %s: the streams keep events no longer than the shortest retention, and events waiting out an outage would expire undelivered", Duration{Duration: r}, d.Name, Duration{Duration: horizon})
	}
	return nil
}

func (f Filter) validate() error {
	set := 0
	if f.Sample != nil {
		set++
		if f.Sample.Percent < 0 || f.Sample.Percent > 100 {
			return fmt.Errorf("sample.percent %v: want 0 to 100", f.Sample.Percent)
		}
	}
	if f.Drop != "" {
		set++
	}
	if f.DropProperties != nil {
		set++
	}
	if f.AllowProperties != nil {
		set++
	}
	if set != 1 {
		return fmt.Errorf("want exactly one of sample, drop, dropProperties, allowProperties")
	}
	return nil
}

// SourceByWriteKey returns the source a write key belongs to.
func (c Config) SourceByWriteKey(key string) (Source, bool) {
	for _, s := range c.Sources {
		if s.WriteKey == key {
			return s, true
		}
	}
	return Source{}, false
}
