package topology

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/api"
	"github.com/sluicehq/sluice/topology/deadletters"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/regulator"
	"github.com/sluicehq/sluice/topology/topics"
)

// apiRole serves the tracking API and the admin API: tracking plans,
// regulations (filing, status, export), behind personal admin tokens with
// roles and an audit trail (package admin). It is stateless: run as many as
// the traffic needs behind a load balancer.
type apiRole struct {
	srv     *api.Server
	ln      net.Listener
	regs    *regulations
	keys    *apiKeys // nil: encryption disabled
	tokens  *admin.Tokens
	closers []func()
}

// apiProduceTimeout bounds how long a tracking request waits for the broker.
const apiProduceTimeout = 10 * time.Second

func newAPIRole(ctx context.Context, e env, cfg Config) (_ *apiRole, err error) {
	adminToken := cfg.AdminToken
	r := &apiRole{ln: cfg.APIListener}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	prod, err := e.conn.NewClient(append(api.ProducerOpts(apiProduceTimeout), topics.BatchCompression(e.keyring != nil))...)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, prod.Close)
	plans, err := planstore.New(e.planstoreConfig())
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, plans.Close)
	names := e.names()
	audit, err := admin.NewAuditor(e.conn.Seeds, e.conn.Opts, names.Of(topics.Audit), e.log)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, audit.Close)
	if r.tokens, err = admin.OpenTokens(e.conn.Seeds, e.conn.Opts, names.Of(topics.AdminTokens), e.log); err != nil {
		return nil, err
	}
	r.closers = append(r.closers, r.tokens.Close)
	// Every API process records regulations erased from their topic.
	if r.regs, err = openRegulations(ctx, e, audit.RegulationErased); err != nil {
		return nil, err
	}
	var creator *shred.Creator
	if e.keyring != nil {
		if r.keys, err = newAPIKeys(e, prod); err != nil {
			return nil, err
		}
		creator = r.keys.creator
	}
	dead, err := deadletters.New(deadletters.Config{Seeds: e.conn.Seeds, ClientOpts: e.conn.Opts, Workspace: e.ws, Keyring: e.keyring, Logger: e.log})
	if err != nil {
		return nil, err
	}
	routes := adminRoutes(planstore.NewHandler(plans, e.log), r.regs.svc, dead)
	if adminToken == "" {
		e.log.Info("admin API: no bootstrap token; personal tokens only (sluice tokens create)")
	}
	guard := admin.NewGuard(admin.GuardConfig{Bootstrap: adminToken, Tokens: r.tokens, Audit: audit, Logger: e.log})
	r.srv, err = api.New(api.Config{
		Workspace: e.ws, Producer: prod, AdminToken: adminToken, AdminGuard: guard,
		Admin: routes, Registry: e.registry, Logger: e.log, Keys: creator,
		PublicURL: cfg.PublicURL, TrustedProxies: cfg.TrustedProxies, MaxConnections: cfg.APIMaxConnections,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// adminRoutes are the admin API's routes, each with the scope a token's
// role must have (package admin; docs/admin.md lists them by role).
func adminRoutes(plans http.Handler, regs *regulator.Service, dead *deadletters.Service) []api.Route {
	read, publish := string(admin.ScopePlansRead), string(admin.ScopePlansPublish)
	routes := append([]api.Route{
		{Pattern: "GET /v1/tracking-plans", Handler: plans, Scope: read},
		{Pattern: "GET /v1/tracking-plans/{name}", Handler: plans, Scope: read},
		{Pattern: "GET /v1/tracking-plans/{name}/versions/{version}", Handler: plans, Scope: read},
		{Pattern: "POST /v1/tracking-plans", Handler: plans, Scope: publish},
	}, regulator.Routes(regs)...)
	return append(routes, deadletters.Routes(dead)...)
}

func (r *apiRole) run(ctx context.Context) error {
	// Admin requests drain after ctx ends; the tokens table follows until they have.
	tctx, stopTokens := context.WithCancel(context.WithoutCancel(ctx))
	tokensDone := make(chan struct{})
	go func() { defer close(tokensDone); _ = r.tokens.Run(tctx) }()
	defer func() { stopTokens(); <-tokensDone }()
	if r.keys != nil {
		kctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); r.keys.run(kctx) }()
		// Requests drain after ctx ends; the keys table follows until they have.
		defer func() { stop(); <-done }()
	}
	return r.srv.Serve(ctx, r.ln)
}

func (r *apiRole) ready(ctx context.Context) error {
	if r.keys != nil && !r.keys.creator.Table().Ready() {
		return errNotReady
	}
	// Ready once the tokens table has caught up; after that each admin
	// request catches it up itself (and fails closed), tracking does not.
	if !r.tokens.Ready() {
		if err := r.tokens.CatchUp(ctx); err != nil {
			return err
		}
	}
	return r.srv.Ready(ctx)
}

func (r *apiRole) close() {
	if r.regs != nil {
		r.regs.close()
	}
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// planstoreConfig locates the tracking-plans topic on the process's cluster.
func (e env) planstoreConfig() planstore.Config {
	return planstore.Config{Brokers: e.conn.Seeds, ClientOpts: e.conn.Opts, TopicPrefix: e.ws.TopicPrefix, Logger: e.log}
}
