package topology

import (
	"context"
	"time"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/regulator"
	"github.com/sluicehq/sluice/topology/topics"
)

// regulatorRole carries out regulations. Regulators share the regulations
// topic's partitions through their owner group, so each regulation has one
// regulator at a time; run two or more for availability.
type regulatorRole struct{ regs *regulations }

func newRegulatorRole(ctx context.Context, e env) (*regulatorRole, error) {
	regs, err := openRegulations(ctx, e, nil)
	if err != nil {
		return nil, err
	}
	return &regulatorRole{regs: regs}, nil
}

func (r *regulatorRole) run(ctx context.Context) error { return r.regs.svc.Run(ctx) }

func (r *regulatorRole) ready(ctx context.Context) error { return r.regs.svc.Ready(ctx) }

func (r *regulatorRole) close() { r.regs.close() }

// closeTimeout bounds closing a sink opened for deletion or delivery.
const closeTimeout = 10 * time.Second

// regulations is a regulations service (filing, status, export, and the
// regulator's work) with what it deletes at.
type regulations struct {
	svc     *regulator.Service
	closers []func()
}

// openRegulations opens the regulations service of the workspace. A
// clickhouse destination is reached through a warehouse opened from its
// settings (no insert machinery); the first one is counted and exported. Any
// other destination's sink is opened for its deletion ability only (a
// sinks.Deleter), never to deliver. erased, when set, is told of regulations
// erased from their topic (regulator.Config.Erased).
func openRegulations(ctx context.Context, e env, erased func(id, detail string)) (_ *regulations, err error) {
	r := &regulations{}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	var dests []regulator.Destination
	var warehouse regulator.Warehouse
	for _, d := range e.ws.Destinations {
		dest := regulator.Destination{Name: d.Name, Internal: d.Type == config.DestinationClickHouse}
		if dest.Internal {
			cfg, err := clickhouse.FromSettings(d.Name, d.Settings)
			if err != nil {
				return nil, err
			}
			wh, err := clickhouse.OpenWarehouse(cfg)
			if err != nil {
				return nil, err
			}
			r.closers = append(r.closers, func() { wh.Close() })
			dest.Deleter = wh
			if warehouse == nil {
				warehouse = wh
			}
		} else {
			sink, err := openSink(ctx, d, sinkEnv{conn: e.conn, log: e.log})
			if err != nil {
				return nil, err
			}
			r.closers = append(r.closers, func() {
				cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
				defer cancel()
				sink.Close(cctx)
			})
			dest.Deleter, _ = sink.(sinks.Deleter)
		}
		dests = append(dests, dest)
	}
	r.svc, err = regulator.Open(ctx, regulator.Config{
		Workspace: e.ws.Workspace, Brokers: e.conn.Seeds, ClientOpts: e.conn.Opts,
		Topics: e.names(), Warehouse: warehouse, Destinations: dests, Logger: e.log,
		Keyring: e.keyring, UnattributedTTL: topics.StreamRetention(e.ws), Erased: erased,
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (r *regulations) close() {
	if r.svc != nil {
		r.svc.Close()
	}
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}
