package topology

import (
	"context"

	"github.com/sluicehq/sluice/topology/router"
)

// routerRole is one member of the router group on events.raw: run as many
// as events.raw has partitions to spread.
type routerRole struct{ rt *router.Router }

// routerTransactionalIDPrefix prefixes the router's transactional id when the
// process has an Instance name (the ACLs allow the prefix "sluice-router").
const routerTransactionalIDPrefix = "sluice-router-"

func newRouterRole(e env) (*routerRole, error) {
	cfg := router.Config{
		Seeds: e.conn.Seeds, ClientOpts: e.conn.Opts,
		Workspace: e.ws, Registry: e.registry, Logger: e.log, Keyring: e.keyring,
	}
	if e.instance != "" {
		cfg.TransactionalID = routerTransactionalIDPrefix + e.instance
	}
	rt, err := router.New(cfg)
	if err != nil {
		return nil, err
	}
	return &routerRole{rt: rt}, nil
}

func (r *routerRole) run(ctx context.Context) error { return r.rt.Run(ctx) }

func (r *routerRole) ready(context.Context) error {
	if !r.rt.Ready() {
		return errNotReady
	}
	return nil
}

func (r *routerRole) close() {}
