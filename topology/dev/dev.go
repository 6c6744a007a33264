// Package dev is `sluice dev`: an embedded Kafka broker, a local ClickHouse
// engine, and the roles of topology wired onto them in one process, with all
// state under one data directory. It is the only wiring that imports testenv.
package dev

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// Config configures `sluice dev`. The zero value uses DESIGN's defaults and
// runs every role.
type Config struct {
	// DataDir holds all state (broker, ClickHouse, credentials); default "./.sluice".
	DataDir string
	// Config is the workspace; nil means a default workspace with one source
	// and one ClickHouse destination, "warehouse".
	Config *config.Config
	// Roles are the roles to run; nil runs every role. NoRoles runs only the
	// broker and the engine, for roles started as `sluice run` processes.
	Roles   []topology.Role
	NoRoles bool
	// AdminToken guards the admin API; empty means generated once and kept in DataDir.
	AdminToken string
	// APIAddr is the tracking and admin API's address; default "127.0.0.1:8088".
	APIAddr string
	// PublicURL and TrustedProxies are the api role's; see topology.Config.
	PublicURL      string
	TrustedProxies []netip.Prefix
	// MetricsAddr, when set, serves /metrics, /healthz and /readyz of every role.
	MetricsAddr string
	// KafkaAddr is the embedded broker's address; default "127.0.0.1:9092".
	KafkaAddr string
	// KafkaBrokers is how many brokers the embedded cluster has, on the
	// ports following KafkaAddr's; default 1.
	KafkaBrokers int
	// ClickHouseAddr is the local ClickHouse HTTP interface; default "127.0.0.1:8123".
	ClickHouseAddr string
	// Logger receives logs; default discards.
	Logger *slog.Logger
}

// Info says where a running dev stack is and how to talk to it.
type Info struct {
	// API is the tracking and admin API's URL; empty without the api role.
	API string
	// Kafka is the embedded brokers' host:port list, comma-separated.
	Kafka      string
	ClickHouse string
	Database   string
	// WriteKeys maps source name to write key.
	WriteKeys  map[string]string
	AdminToken string
	// Roles are the roles running in the process.
	Roles []topology.Role
	// KEKFile is the dev KEK that wraps the data keys (base64, mode 0600),
	// when the workspace has no encryption section of its own.
	KEKFile string
}

// Database is the ClickHouse database of the dev stack.
const Database = "sluice"

func (c Config) withDefaults() Config {
	if c.DataDir == "" {
		c.DataDir = ".sluice"
	}
	if c.Roles == nil && !c.NoRoles {
		c.Roles = topology.AllRoles
	}
	if c.NoRoles {
		c.Roles = nil
	}
	if c.APIAddr == "" {
		c.APIAddr = "127.0.0.1:8088"
	}
	if c.KafkaAddr == "" {
		c.KafkaAddr = "127.0.0.1:9092"
	}
	if c.ClickHouseAddr == "" {
		c.ClickHouseAddr = "127.0.0.1:8123"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// defaultWorkspace is the dev stack's workspace when none is configured: one
// source and the local warehouse, with no consent categories.
func defaultWorkspace(writeKey string) config.Config {
	return config.Config{
		Sources: []config.Source{{Name: "default", WriteKey: writeKey}},
		Destinations: []config.Destination{{
			Name: "warehouse", Type: config.DestinationClickHouse,
			Settings: map[string]any{"database": Database},
		}},
	}
}

// Run starts the dev stack, calls ready once every part serves, and runs
// until ctx is done; then it shuts down in order and returns. A second Run
// on the same DataDir fails with ErrDataDirInUse.
func Run(ctx context.Context, cfg Config, ready func(Info)) error {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	dir, err := openDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer dir.close()

	secrets, err := dir.loadOrCreateSecrets(cfg.AdminToken)
	if err != nil {
		return err
	}
	ws := defaultWorkspace(secrets.WriteKey)
	if cfg.Config != nil {
		ws = *cfg.Config
	}
	ws = ws.WithDefaults()
	if err := ws.Validate(); err != nil {
		return err
	}
	adminToken := secrets.AdminToken

	b, err := broker.Start(broker.Config{Addr: cfg.KafkaAddr, Brokers: cfg.KafkaBrokers, DataDir: dir.sub("kafka"), Partitions: int(ws.Partitions), Logger: log})
	if err != nil {
		return fmt.Errorf("dev: kafka on %s: %w", cfg.KafkaAddr, err)
	}
	defer b.Close()

	ch, err := chlocal.Start(ctx, chlocal.Config{DataPath: dir.sub("clickhouse"), Addr: cfg.ClickHouseAddr, Logger: log})
	if err != nil {
		return fmt.Errorf("dev: clickhouse on %s: %w", cfg.ClickHouseAddr, err)
	}
	defer ch.Close()
	if err := execHTTP(ctx, ch.URL(), "CREATE DATABASE IF NOT EXISTS "+Database); err != nil {
		return fmt.Errorf("dev: create database: %w", err)
	}
	ws.Destinations = localClickHouse(ws.Destinations, ch.Addr())

	conn := cluster.Plain(b.Addrs()...)
	if err := applyTopics(ctx, conn, ws); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	info := Info{
		Kafka:      strings.Join(b.Addrs(), ","),
		ClickHouse: ch.URL(),
		Database:   Database,
		WriteKeys:  map[string]string{},
		AdminToken: adminToken,
		Roles:      cfg.Roles,
	}
	for _, s := range ws.Sources {
		info.WriteKeys[s.Name] = s.WriteKey
	}
	// Instance stays empty: the router takes a new transactional id at every
	// start. The embedded broker dies with this process, and when it was
	// killed mid-transaction it aborts that transaction as it loads its data
	// dir without writing an abort marker; consumers then skip the producer
	// id's records until such a marker, so a router back under the same id
	// would have everything it writes skipped. A new id has none to skip.
	run := topology.Config{Cluster: conn, Workspace: ws, Roles: cfg.Roles, AdminToken: adminToken, Logger: log,
		PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies}
	if run.Keyring, err = dir.devKeyring(ws); err != nil {
		return err
	}
	if run.Keyring != nil {
		info.KEKFile = dir.sub(devKEKFile)
	}
	if slices.Contains(cfg.Roles, topology.RoleAPI) {
		if run.APIListener, err = net.Listen("tcp", cfg.APIAddr); err != nil {
			return fmt.Errorf("dev: api: %w", err)
		}
		info.API = "http://" + run.APIListener.Addr().String()
	}
	if cfg.MetricsAddr != "" {
		if run.MetricsListener, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return fmt.Errorf("dev: metrics: %w", err)
		}
	}
	err = topology.Run(ctx, run, func() {
		ready(info)
		log.Info("dev stack ready", "api", info.API, "kafka", info.Kafka, "clickhouse", info.ClickHouse, "roles", cfg.Roles)
	})
	log.Info("dev stack stopped")
	return err
}

// localClickHouse points clickhouse destinations that name no server at the
// local engine; the caller's destinations are not changed.
func localClickHouse(dests []config.Destination, addr string) []config.Destination {
	out := slices.Clone(dests)
	for i, d := range out {
		if d.Type != config.DestinationClickHouse {
			continue
		}
		_, one := d.Settings["addr"]
		_, many := d.Settings["addrs"]
		if one || many {
			continue
		}
		settings := map[string]any{"addr": addr}
		for k, v := range d.Settings {
			settings[k] = v
		}
		out[i].Settings = settings
	}
	return out
}

// applyTopics creates the workspace's topics, and sets their configs, on
// the embedded broker.
func applyTopics(ctx context.Context, conn cluster.Conn, ws config.Config) error {
	cl, err := conn.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = topics.Apply(ctx, kadm.NewClient(cl), topics.ForConfig(ws))
	return err
}

// execHTTP runs one statement through a ClickHouse HTTP interface.
func execHTTP(ctx context.Context, baseURL, sql string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+"/", strings.NewReader(sql))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("clickhouse: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
