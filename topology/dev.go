// Package topology wires sluice's roles: it is the only place that connects
// stages, consumer groups, offsets and shutdown.
package topology

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// DevConfig configures `sluice dev`: every role in one process on an embedded
// broker and a local ClickHouse engine. The zero value uses DESIGN's defaults.
type DevConfig struct {
	// DataDir holds all state (broker, ClickHouse, credentials); default "./.sluice".
	DataDir string
	// Config is the workspace; nil means a default workspace with one source
	// and one ClickHouse destination, "warehouse".
	Config *config.Config
	// AdminToken guards the admin API; empty means generated once and kept in DataDir.
	AdminToken string
	// APIAddr is the tracking and admin API's address; default "127.0.0.1:8088".
	APIAddr string
	// KafkaAddr is the embedded broker's address; default "127.0.0.1:9092".
	KafkaAddr string
	// ClickHouseAddr is the local ClickHouse HTTP interface; default "127.0.0.1:8123".
	ClickHouseAddr string
	// Logger receives logs; default discards.
	Logger *slog.Logger
}

// DevInfo says where a running dev stack is and how to talk to it.
type DevInfo struct {
	API        string
	Kafka      string
	ClickHouse string
	Database   string
	// WriteKeys maps source name to write key.
	WriteKeys  map[string]string
	AdminToken string
}

// devDatabase is the ClickHouse database of the dev stack.
const devDatabase = "sluice"

func (c DevConfig) withDefaults() DevConfig {
	if c.DataDir == "" {
		c.DataDir = ".sluice"
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
			Settings: map[string]any{"database": devDatabase},
		}},
	}
}

// RunDev starts the dev stack, calls ready once every part serves, and runs
// until ctx is done; then it shuts down in order and returns. A second RunDev
// on the same DataDir fails with ErrDataDirInUse.
func RunDev(ctx context.Context, cfg DevConfig, ready func(DevInfo)) error {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	dir, err := openDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer dir.close()

	secrets, err := dir.loadOrCreateSecrets()
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
	adminToken := cfg.AdminToken
	if adminToken == "" {
		adminToken = secrets.AdminToken
	}

	b, err := broker.Start(broker.Config{Addr: cfg.KafkaAddr, DataDir: dir.sub("kafka"), Partitions: int(ws.Partitions), Logger: log})
	if err != nil {
		return fmt.Errorf("dev: kafka on %s: %w", cfg.KafkaAddr, err)
	}
	defer b.Close()

	ch, err := chlocal.Start(ctx, chlocal.Config{DataPath: dir.sub("clickhouse"), Addr: cfg.ClickHouseAddr, Logger: log})
	if err != nil {
		return fmt.Errorf("dev: clickhouse on %s: %w", cfg.ClickHouseAddr, err)
	}
	defer ch.Close()
	if err := execHTTP(ctx, ch.URL(), "CREATE DATABASE IF NOT EXISTS "+devDatabase); err != nil {
		return fmt.Errorf("dev: create database: %w", err)
	}

	seeds := []string{b.Addr()}
	if err := ensureTopics(ctx, seeds, ws); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	apiLn, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("dev: api: %w", err)
	}
	roles, err := startRoles(ctx, rolesConfig{
		seeds: seeds, workspace: ws, adminToken: adminToken, apiListener: apiLn,
		clickhouseAddr: ch.Addr(), database: devDatabase, log: log,
	})
	if err != nil {
		apiLn.Close()
		return err
	}

	info := DevInfo{
		API:        "http://" + apiLn.Addr().String(),
		Kafka:      b.Addr(),
		ClickHouse: ch.URL(),
		Database:   devDatabase,
		WriteKeys:  map[string]string{},
		AdminToken: adminToken,
	}
	for _, s := range ws.Sources {
		info.WriteKeys[s.Name] = s.WriteKey
	}
	ready(info)
	log.Info("dev stack ready", "api", info.API, "kafka", info.Kafka, "clickhouse", info.ClickHouse)

	err = roles.wait()
	log.Info("dev stack stopped")
	return err
}

// ensureTopics creates the workspace's topics that do not exist yet.
func ensureTopics(ctx context.Context, seeds []string, ws config.Config) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	var dests []string
	for _, d := range ws.Destinations {
		dests = append(dests, d.Name)
	}
	return topics.Ensure(ctx, kadm.NewClient(cl), topics.Names{Prefix: ws.TopicPrefix}.All(ws.Partitions, dests))
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
