package topology

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/sinks/kafka"
	"github.com/sluicehq/sluice/sinks/webhook"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/planstore"
)

// sinkEnv is what a destination's settings may leave to the deployment.
type sinkEnv struct {
	// conn is the cluster sluice runs on: a kafka destination without
	// brokers produces there.
	conn cluster.Conn
	// plans resolves tracking-plan versions for typed warehouse tables; nil
	// writes none.
	plans *planstore.Reader
	// retention is how long the warehouse keeps each source's rows
	// (warehouseRetention); the zero value keeps them forever.
	retention clickhouse.Retention
	log       *slog.Logger
}

// openSink opens the sink a configured destination delivers through.
func openSink(ctx context.Context, d config.Destination, env sinkEnv) (sinks.Sink, error) {
	switch d.Type {
	case config.DestinationClickHouse:
		cfg, err := clickhouse.FromSettings(d.Name, d.Settings)
		if err != nil {
			return nil, err
		}
		cfg.Plans = planLookup(env.plans)
		cfg.Retention = env.retention
		cfg.Logger = env.log
		return clickhouse.Open(ctx, cfg)
	case config.DestinationWebhook:
		cfg, err := webhook.FromSettings(d.Name, d.Settings)
		if err != nil {
			return nil, err
		}
		cfg.Logger = env.log
		return webhook.Open(cfg)
	case config.DestinationKafka:
		cfg, err := kafka.FromSettings(d.Name, d.Settings)
		if err != nil {
			return nil, err
		}
		if len(cfg.Brokers) == 0 {
			cfg.Brokers, cfg.ClusterOpts = env.conn.Seeds, env.conn.Opts
		}
		cfg.Logger = env.log
		return kafka.Open(ctx, cfg)
	}
	return nil, fmt.Errorf("destination %s: unknown type %q", d.Name, d.Type)
}

// warehouseRetention is the workspace's retention as the warehouse applies
// it: each source's own, and the workspace's for every other source (those
// no longer configured included).
func warehouseRetention(ws config.Config) clickhouse.Retention {
	r := clickhouse.Retention{Default: ws.Retention.Duration, Sources: map[string]time.Duration{}}
	for _, s := range ws.Sources {
		if s.Retention.Duration > 0 {
			r.Sources[s.Name] = s.Retention.Duration
		}
	}
	return r
}

// planLookup answers the warehouse's plan lookups from every version the
// reader has read, not only the latest: events the router judged by a
// version since replaced are still queued. A version not read yet is nil,
// and the sink retries those events (sinks.ErrPlanNotReady).
func planLookup(r *planstore.Reader) clickhouse.PlanLookup {
	if r == nil {
		return nil
	}
	return func(name string, version int) *plan.Plan {
		p, _ := r.Plan(name, version)
		return p
	}
}
