package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/topology/api"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/delivery"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/regulator"
	"github.com/sluicehq/sluice/topology/router"
	"github.com/sluicehq/sluice/topology/topics"
)

// rolesConfig is what the roles of one process share.
type rolesConfig struct {
	seeds          []string
	workspace      config.Config
	adminToken     string
	apiListener    net.Listener
	clickhouseAddr string // sluice's own warehouse (HTTP interface)
	database       string
	log            *slog.Logger
}

// runningRoles are the roles started by startRoles.
type runningRoles struct {
	wg      conc.WaitGroup
	mu      sync.Mutex
	errs    []error
	cleanup []func()
}

func (r *runningRoles) run(name string, fn func() error) {
	r.wg.Go(func() {
		if err := fn(); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, fmt.Errorf("%s: %w", name, err))
			r.mu.Unlock()
		}
	})
}

// wait blocks until every role has stopped and returns their errors.
func (r *runningRoles) wait() error {
	r.wg.Wait()
	for i := len(r.cleanup) - 1; i >= 0; i-- {
		r.cleanup[i]()
	}
	return errors.Join(r.errs...)
}

// startRoles starts the api, router, one sink per destination and the
// regulator; they run until ctx ends. On error nothing is left running.
func startRoles(ctx context.Context, cfg rolesConfig) (_ *runningRoles, err error) {
	ws, log := cfg.workspace, cfg.log
	names := topics.Names{Prefix: ws.TopicPrefix}
	reg := prometheus.NewRegistry()
	r := &runningRoles{}
	defer func() {
		if err != nil {
			for i := len(r.cleanup) - 1; i >= 0; i-- {
				r.cleanup[i]()
			}
		}
	}()

	// Tracking plans, for the admin API and the warehouse's typed tables.
	plans, err := planstore.New(planstore.Config{Brokers: cfg.seeds, TopicPrefix: ws.TopicPrefix, Logger: log})
	if err != nil {
		return nil, err
	}
	r.cleanup = append(r.cleanup, plans.Close)
	// The reader needs a validator to feed; the warehouse asks the reader,
	// which holds every version the router may have judged an event by.
	planReader, err := planstore.NewReader(planstore.Config{Brokers: cfg.seeds, TopicPrefix: ws.TopicPrefix, Logger: log}, validate.New())
	if err != nil {
		return nil, err
	}

	// Sinks, each with its delivery engine.
	env := sinkEnv{seeds: cfg.seeds, clickhouseAddr: cfg.clickhouseAddr, plans: planReader, log: log}
	var engines []*delivery.Engine
	var regDests []regulator.Destination
	for _, d := range ws.Destinations {
		sink, err := openSink(ctx, d, env)
		if err != nil {
			return nil, err
		}
		eng, err := delivery.New(delivery.Config{Seeds: cfg.seeds, Workspace: ws, Destination: d.Name, Sink: sink, Registry: reg, Logger: log})
		if err != nil {
			sink.Close(ctx)
			return nil, err
		}
		engines = append(engines, eng)
		deleter, _ := sink.(sinks.Deleter)
		regDests = append(regDests, regulator.Destination{Name: d.Name, Internal: d.Type == config.DestinationClickHouse, Deleter: deleter})
	}

	// Regulations.
	conn, err := ch.Open(&ch.Options{Protocol: ch.HTTP, Addr: []string{cfg.clickhouseAddr}, Auth: ch.Auth{Database: cfg.database}})
	if err != nil {
		return nil, err
	}
	r.cleanup = append(r.cleanup, func() { conn.Close() })
	svc, err := regulator.Open(ctx, regulator.Config{
		Workspace: ws.Workspace, Brokers: cfg.seeds, Topics: names,
		Warehouse: regulator.NewWarehouse(conn, cfg.database), Destinations: regDests, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	r.cleanup = append(r.cleanup, svc.Close)

	// The API.
	prod, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(cfg.seeds...)}, api.ProducerOpts(10*time.Second)...)...)
	if err != nil {
		return nil, err
	}
	r.cleanup = append(r.cleanup, prod.Close)
	plansAPI := planstore.NewHandler(plans, log)
	admin := append([]api.Route{
		{Pattern: "/v1/tracking-plans", Handler: plansAPI},
		{Pattern: "/v1/tracking-plans/", Handler: plansAPI},
	}, regulator.Routes(svc)...)
	srv, err := api.New(api.Config{
		Workspace: ws, Topics: names, Producer: prod, AdminToken: cfg.adminToken,
		Admin: admin, Registry: reg, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	rt, err := router.New(router.Config{Seeds: cfg.seeds, Workspace: ws, Registry: reg, Logger: log})
	if err != nil {
		return nil, err
	}

	r.run("api", func() error { return srv.Serve(ctx, cfg.apiListener) })
	r.run("plans", func() error { planReader.Run(ctx); return nil })
	r.run("router", func() error { return rt.Run(ctx) })
	for i, eng := range engines {
		r.run("sink "+ws.Destinations[i].Name, func() error { return eng.Run(ctx) })
	}
	r.run("regulator", func() error { return svc.Run(ctx) })
	return r, nil
}
