package clickhouse

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
)

// PlanLookup returns a published version of a tracking plan, or nil when the
// caller does not hold it (yet). The sink derives typed tables from it.
type PlanLookup func(name string, version int) *plan.Plan

// Config configures the ClickHouse sink. The zero value writes to the local
// engine of `sluice dev` (HTTP on 127.0.0.1:8123, database sluice).
type Config struct {
	// Addrs are the servers' host:port, tried in order; default
	// ["127.0.0.1:8123"]. Setting `addrs` (a list, or `addr` for one).
	Addrs []string
	// Protocol is "http" (default; port 8123, 8443 with TLS) or "native"
	// (port 9000, 9440 with TLS). Setting `protocol`.
	Protocol string
	// TLS turns on TLS to the servers; see sinks.TLSSettings for the keys.
	TLS sinks.TLSSettings
	// Username and Password authenticate; default user "default" with no
	// password. Settings `user`, `password`, or `passwordEnv` naming an
	// environment variable that holds it.
	Username, Password string
	// Database holds sluice's tables, created if missing; default "sluice".
	// Setting `database`.
	Database string
	// Cluster, when set, creates every table ON CLUSTER with Replicated
	// engines and runs deletes ON CLUSTER; default "" (one server). Setting
	// `cluster`. The sink reads the cluster's shards from system.clusters
	// at Open (refusing a cluster the server does not list): with several,
	// each table's rows live in local_<name> on every server, behind a
	// Distributed table <name> keyed by user (user_id, else anonymous_id),
	// which inserts wait on (distributed_foreground_insert) and counts and
	// exports read; deletes run on the local tables. A database whose
	// tables exist keeps the layout it was made with.
	Cluster string
	// JSONColumns is how context, properties and traits are stored: "json"
	// (default; the JSON type, paths queryable as columns) or "string" (JSON
	// text, read with JSONExtract*; about 2.5× the insert rate). Setting
	// `jsonColumns`. Changing it for an existing database has no effect on
	// existing tables.
	JSONColumns string
	// Compression of insert blocks: "lz4" (default), "zstd", "gzip" (HTTP
	// only) or "none". Setting `compression`.
	Compression string
	// BatchEvents, BatchBytes and BatchWait are the Limits handed to the
	// engine; defaults 50,000 events, 64 MiB, 1s. Settings `batchEvents`,
	// `batchBytes`, `batchWait`.
	BatchEvents int
	BatchBytes  int
	BatchWait   time.Duration
	// InFlight is how many partitions' batches are inserted at once; default
	// 2. Setting `inFlight`.
	InFlight int
	// DialTimeout bounds connecting; default 10s. QueryTimeout bounds each
	// statement (inserts, DDL, deletes); default 5m. Settings `dialTimeout`,
	// `queryTimeout`.
	DialTimeout  time.Duration
	QueryTimeout time.Duration
	// DedupWindow is how many recent inserts per table the server remembers
	// for insert deduplication (non_replicated_deduplication_window, or
	// replicated_deduplication_window with Cluster); default 10,000. Applied
	// when a table is created. Setting `dedupWindow`.
	DedupWindow int
	// PurgeWithin bounds how long the parts a delete replaced stay on the
	// servers' disks (with the subjects' rows in them, unreadable by any
	// query): Delete sets each table's part cleanup to finish within it
	// (see purgeSettings); default 10m. Setting `purgeWithin`.
	PurgeWithin time.Duration
	// Retention deletes a source's rows from every table once their
	// received_at is older than the source's retention (a TTL, applied by
	// ClickHouse's merges: see the package doc); default none, rows are
	// kept forever. Not a setting: it comes from the workspace's sources.
	Retention Retention

	// Plans looks up tracking-plan versions for typed per-event tables; nil
	// writes no typed tables.
	Plans PlanLookup
	// Logger receives DDL changes and refused schemas; default discards.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultAddr        = "127.0.0.1:8123"
	DefaultDatabase    = "sluice"
	DefaultBatchEvents = 50_000
	DefaultBatchBytes  = 64 << 20
	DefaultBatchWait   = time.Second
	DefaultInFlight    = 2
	DefaultDedupWindow = 10_000
	DefaultPurgeWithin = 10 * time.Minute
)

// Protocols and JSON column modes.
const (
	ProtocolHTTP   = "http"
	ProtocolNative = "native"
	JSONType       = "json"
	JSONString     = "string"
)

// FromSettings reads a destination's settings into a Config (defaults not
// yet applied; Open applies them).
func FromSettings(dest string, settings map[string]any) (Config, error) {
	r := sinks.ReadSettings(dest, settings)
	c := Config{
		Addrs:        r.Strings("addrs", nil),
		Protocol:     r.String("protocol", ""),
		TLS:          r.TLS(),
		Username:     r.String("user", ""),
		Password:     r.String("password", ""),
		Database:     r.String("database", ""),
		Cluster:      r.String("cluster", ""),
		JSONColumns:  r.String("jsonColumns", ""),
		Compression:  r.String("compression", ""),
		BatchEvents:  r.Int("batchEvents", 0),
		BatchBytes:   r.Int("batchBytes", 0),
		BatchWait:    r.Duration("batchWait", 0),
		InFlight:     r.Int("inFlight", 0),
		DialTimeout:  r.Duration("dialTimeout", 0),
		QueryTimeout: r.Duration("queryTimeout", 0),
		DedupWindow:  r.Int("dedupWindow", 0),
		PurgeWithin:  r.Duration("purgeWithin", 0),
	}
	if addr := r.String("addr", ""); addr != "" {
		c.Addrs = append([]string{addr}, c.Addrs...)
	}
	if env := r.String("passwordEnv", ""); env != "" {
		v, ok := os.LookupEnv(env)
		if !ok {
			return c, fmt.Errorf("destination %s: setting passwordEnv: environment variable %s is not set", dest, env)
		}
		c.Password = v
	}
	if err := r.Err(); err != nil {
		return c, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("destination %s: %w", dest, err)
	}
	return c, nil
}

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if len(c.Addrs) == 0 {
		c.Addrs = []string{DefaultAddr}
	}
	if c.Protocol == "" {
		c.Protocol = ProtocolHTTP
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.JSONColumns == "" {
		c.JSONColumns = JSONType
	}
	if c.Compression == "" {
		c.Compression = "lz4"
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = DefaultBatchEvents
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultBatchBytes
	}
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.InFlight == 0 {
		c.InFlight = DefaultInFlight
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 10 * time.Second
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = 5 * time.Minute
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = DefaultDedupWindow
	}
	if c.PurgeWithin == 0 {
		c.PurgeWithin = DefaultPurgeWithin
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Validate names the first unusable field of a Config with defaults applied.
func (c Config) Validate() error {
	switch {
	case len(c.Addrs) == 0:
		return errors.New("clickhouse: addrs: at least one server")
	case c.Protocol != ProtocolHTTP && c.Protocol != ProtocolNative:
		return fmt.Errorf("clickhouse: protocol %q: want http or native", c.Protocol)
	case !identRE.MatchString(c.Database):
		return fmt.Errorf("clickhouse: database %q: want letters, digits and _, not starting with a digit", c.Database)
	case c.Cluster != "" && !identRE.MatchString(c.Cluster):
		return fmt.Errorf("clickhouse: cluster %q: want letters, digits and _", c.Cluster)
	case c.JSONColumns != JSONType && c.JSONColumns != JSONString:
		return fmt.Errorf("clickhouse: jsonColumns %q: want json or string", c.JSONColumns)
	case c.BatchEvents < 0 || c.BatchBytes < 0 || c.BatchWait < 0 || c.InFlight < 0:
		return errors.New("clickhouse: batchEvents, batchBytes, batchWait and inFlight must not be negative")
	case c.DedupWindow < 0:
		return errors.New("clickhouse: dedupWindow must not be negative")
	case c.DialTimeout < 0 || c.QueryTimeout < 0:
		return errors.New("clickhouse: dialTimeout and queryTimeout must not be negative")
	case c.PurgeWithin < 0 || c.PurgeWithin > 0 && c.PurgeWithin < 5*time.Second:
		return errors.New("clickhouse: purgeWithin: at least 5s (ClickHouse counts part cleanup in whole seconds)")
	}
	if err := c.Retention.validate(); err != nil {
		return err
	}
	switch c.Compression {
	case "lz4", "zstd", "none":
	case "gzip":
		if c.Protocol != ProtocolHTTP {
			return errors.New("clickhouse: compression gzip: HTTP only")
		}
	default:
		return fmt.Errorf("clickhouse: compression %q: want lz4, zstd, gzip or none", c.Compression)
	}
	return nil
}
