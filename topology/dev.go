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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/api"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/topics"
)

// DevConfig configures `sluice dev`: every role in one process on an embedded
// broker and a local ClickHouse engine. The zero value uses DESIGN's defaults.
type DevConfig struct {
	// DataDir holds all state (broker, ClickHouse, credentials); default "./.sluice".
	DataDir string
	// Config is the workspace; nil means a default workspace with one source.
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

// Database is the ClickHouse database sluice writes to in the dev stack.
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

// RunDev starts the dev stack, calls ready once every part serves, and runs
// until ctx is done; then it shuts down in order and returns. A second RunDev
// on the same DataDir fails with ErrDataDirInUse.
func RunDev(ctx context.Context, cfg DevConfig, ready func(DevInfo)) (err error) {
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
	ws := config.Config{Sources: []config.Source{{Name: "default", WriteKey: secrets.WriteKey}}}
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

	admin, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		return err
	}
	defer admin.Close()
	names := topics.Names{Prefix: ws.TopicPrefix}
	var dests []string
	for _, d := range ws.Destinations {
		dests = append(dests, d.Name)
	}
	if err := topics.Ensure(ctx, kadm.NewClient(admin), names.All(ws.Partitions, dests)); err != nil {
		return fmt.Errorf("dev: %w", err)
	}

	apiLn, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("dev: api: %w", err)
	}
	seeds := []string{b.Addr()}
	prod, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(seeds...)}, api.ProducerOpts(10*time.Second)...)...)
	if err != nil {
		apiLn.Close()
		return err
	}
	defer prod.Close()
	plans, err := planstore.New(planstore.Config{Brokers: seeds, TopicPrefix: ws.TopicPrefix, Logger: log})
	if err != nil {
		apiLn.Close()
		return err
	}
	defer plans.Close()
	srv, err := api.New(api.Config{
		Workspace:  ws,
		Topics:     names,
		Producer:   prod,
		AdminToken: adminToken,
		Admin: []api.Route{
			{Pattern: "/v1/tracking-plans", Handler: planstore.NewHandler(plans, log)},
			{Pattern: "/v1/tracking-plans/", Handler: planstore.NewHandler(plans, log)},
		},
		Registry: prometheus.NewRegistry(),
		Logger:   log,
	})
	if err != nil {
		apiLn.Close()
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var roles conc.WaitGroup
	var apiErr error
	roles.Go(func() { apiErr = srv.Serve(ctx, apiLn) })
	defer roles.Wait()

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
	log.Info("dev stack ready", "kafka", info.Kafka, "clickhouse", info.ClickHouse)

	<-ctx.Done()
	log.Info("dev stack shutting down")
	roles.Wait()
	return apiErr
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
