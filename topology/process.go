package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/sourcegraph/conc"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
)

// Config is one process's roles and what they share. Cluster and Workspace
// are required; APIListener with the api role.
type Config struct {
	// Cluster is the Kafka-protocol cluster every role connects to.
	Cluster cluster.Conn
	// Workspace is the pipeline: sources, consent, destinations, topics.
	Workspace config.Config
	// Roles are the roles this process runs; none is valid (only /metrics,
	// /healthz and /readyz are served).
	Roles []Role
	// AdminToken is the admin API's bootstrap token: every role, holder
	// "bootstrap". Empty: none; the admin API takes personal tokens only
	// (package topology/admin, created by `sluice tokens create`).
	AdminToken string
	// APIListener serves the tracking and admin API. Required with the api role.
	APIListener net.Listener
	// PublicURL is where browsers reach the API (analytics.js is told to
	// send there); default the scheme and Host of each settings request.
	PublicURL string
	// TrustedProxies are the proxies whose X-Forwarded-For the API believes
	// for the client's address; default none.
	TrustedProxies []netip.Prefix
	// APIMaxConnections caps the connections the API holds open at once;
	// default api.DefaultMaxConnections.
	APIMaxConnections int
	// MetricsListener, when set, serves /metrics, /healthz and /readyz for
	// every role of the process.
	MetricsListener net.Listener
	// Instance names this process among the copies of its roles; the
	// router's transactional id is "sluice-router-<Instance>". Kept across
	// restarts of one process and unique among running ones, it lets a
	// restarted router abort the transaction its crashed predecessor left
	// open at once, instead of the broker aborting it after the router's
	// transaction timeout (1 minute), during which delivery of the partitions
	// it wrote waits. Empty: a random id per start.
	Instance string
	// ShutdownTimeout bounds how long the roles may take to drain, flush and
	// commit once ctx is done; default 30s. Past it Run returns an error.
	ShutdownTimeout time.Duration
	// Logger receives logs, which carry no user data; default discards.
	Logger *slog.Logger
	// Keyring holds the KEKs that wrap the subjects' data keys (crypto-
	// shredding of the stream topics, package processors/shred). Nil: built
	// from Workspace.Encryption, secrets read from the environment; see keyring.
	Keyring *shred.Keyring
}

// DefaultShutdownTimeout is Config.ShutdownTimeout's default.
const DefaultShutdownTimeout = 30 * time.Second

// Validate names the first bad field.
func (c Config) Validate() error {
	if len(c.Cluster.Seeds) == 0 {
		return errors.New("topology: Cluster: at least one seed broker is required")
	}
	if err := c.Workspace.WithDefaults().Validate(); err != nil {
		return err
	}
	if slices.Contains(c.Roles, RoleAPI) {
		if c.APIListener == nil {
			return errors.New("topology: APIListener: required with the api role")
		}
	}
	if c.Instance != "" && !validInstance.MatchString(c.Instance) {
		return fmt.Errorf("topology: Instance %q: want 1 to 64 of A-Z a-z 0-9 . _ -", c.Instance)
	}
	if c.ShutdownTimeout < 0 {
		return errors.New("topology: ShutdownTimeout: must not be negative")
	}
	return nil
}

var validInstance = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// role is one started role.
type role interface {
	// run works until ctx is done, then drains, flushes and commits.
	run(ctx context.Context) error
	// ready reports whether the role does its work: tables caught up and
	// member of its group.
	ready(ctx context.Context) error
	// close releases what the constructor opened, after run returned.
	close()
}

// env is what the roles of one process share.
type env struct {
	conn     cluster.Conn
	ws       config.Config
	registry *prometheus.Registry
	log      *slog.Logger
	instance string
	// keyring seals the stream topics; nil when encryption is disabled.
	keyring *shred.Keyring
}

// Run checks the topics, builds the roles, calls started once every role
// runs, and runs them until ctx is done or one of them fails; then every role
// drains and commits (bounded by ShutdownTimeout) and Run returns.
func Run(ctx context.Context, cfg Config, started func()) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := env{conn: cfg.Cluster, ws: cfg.Workspace.WithDefaults(), registry: prometheus.NewRegistry(), log: cfg.Logger,
		instance: cfg.Instance}
	e.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if len(cfg.Roles) > 0 {
		if err := checkTopics(ctx, e); err != nil {
			return err
		}
		var err error
		if e.keyring, err = keyring(cfg); err != nil {
			return err
		}
	}

	var roles []role
	defer func() {
		for i := len(roles) - 1; i >= 0; i-- {
			roles[i].close()
		}
	}()
	names := make([]Role, 0, len(cfg.Roles))
	for _, r := range cfg.Roles {
		built, err := build(ctx, r, e, cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", r, err)
		}
		roles = append(roles, built)
		names = append(names, r)
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var (
		wg   conc.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		stop() // one role failing stops the process: its supervisor restarts it whole
	}
	if cfg.MetricsListener != nil {
		h := health{registry: e.registry, roles: roles, names: names}
		wg.Go(func() {
			if err := serveHealth(runCtx, cfg.MetricsListener, h.handler()); err != nil {
				fail(fmt.Errorf("metrics: %w", err))
			}
		})
	}
	for i, r := range roles {
		wg.Go(func() {
			if err := r.run(runCtx); err != nil {
				fail(fmt.Errorf("%s: %w", names[i], err))
			}
		})
	}
	cfg.Logger.Info("roles started", "roles", names)
	if started != nil {
		started()
	}

	<-runCtx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(cfg.ShutdownTimeout):
		mu.Lock()
		defer mu.Unlock()
		return errors.Join(append(errs, fmt.Errorf("topology: roles did not stop within %s", cfg.ShutdownTimeout))...)
	}
	cfg.Logger.Info("roles stopped", "roles", names)
	return errors.Join(errs...)
}

// build constructs one role.
func build(ctx context.Context, r Role, e env, cfg Config) (role, error) {
	switch r {
	case RoleAPI:
		return newAPIRole(ctx, e, cfg)
	case RoleRouter:
		return newRouterRole(e)
	case RoleSink:
		return newSinkRole(ctx, e)
	case RoleRegulator:
		return newRegulatorRole(ctx, e)
	}
	return nil, fmt.Errorf("unknown role %q", r)
}
