package topology

import (
	"context"
	"net"
	"time"

	"github.com/sluicehq/sluice/topology/api"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/regulator"
)

// apiRole serves the tracking API and the admin API: tracking plans,
// regulations (filing, status, export). It is stateless: run as many as the
// traffic needs behind a load balancer.
type apiRole struct {
	srv     *api.Server
	ln      net.Listener
	regs    *regulations
	closers []func()
}

// apiProduceTimeout bounds how long a tracking request waits for the broker.
const apiProduceTimeout = 10 * time.Second

func newAPIRole(ctx context.Context, e env, adminToken string, ln net.Listener) (_ *apiRole, err error) {
	r := &apiRole{ln: ln}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	prod, err := e.conn.NewClient(api.ProducerOpts(apiProduceTimeout)...)
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, prod.Close)
	plans, err := planstore.New(e.planstoreConfig())
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, plans.Close)
	if r.regs, err = openRegulations(ctx, e); err != nil {
		return nil, err
	}
	plansAPI := planstore.NewHandler(plans, e.log)
	admin := append([]api.Route{
		{Pattern: "/v1/tracking-plans", Handler: plansAPI},
		{Pattern: "/v1/tracking-plans/", Handler: plansAPI},
	}, regulator.Routes(r.regs.svc)...)
	r.srv, err = api.New(api.Config{
		Workspace: e.ws, Producer: prod, AdminToken: adminToken,
		Admin: admin, Registry: e.registry, Logger: e.log,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *apiRole) run(ctx context.Context) error { return r.srv.Serve(ctx, r.ln) }

func (r *apiRole) ready(ctx context.Context) error { return r.srv.Ready(ctx) }

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
