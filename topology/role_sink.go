package topology

import (
	"context"
	"fmt"

	"github.com/sourcegraph/conc"

	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/topology/delivery"
	"github.com/sluicehq/sluice/topology/planstore"
)

// sinkRole runs one delivery engine per destination, each a member of the
// destination's own consumer group (sluice-sink-<name>).
type sinkRole struct {
	plans   *planstore.Reader
	engines []*delivery.Engine
	sinks   []sinks.Sink
	names   []string
}

func newSinkRole(ctx context.Context, e env) (_ *sinkRole, err error) {
	// The warehouse asks the reader, which holds every plan version the
	// router may have judged an event by.
	plans, err := planstore.NewReader(e.planstoreConfig(), validate.New())
	if err != nil {
		return nil, err
	}
	r := &sinkRole{plans: plans}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	for _, d := range e.ws.Destinations {
		sink, err := openSink(ctx, d, sinkEnv{conn: e.conn, plans: plans, retention: warehouseRetention(e.ws), log: e.log})
		if err != nil {
			return nil, err
		}
		eng, err := delivery.New(delivery.Config{
			Seeds: e.conn.Seeds, ClientOpts: e.conn.Opts, Workspace: e.ws,
			Destination: d.Name, Sink: sink, Registry: e.registry, Logger: e.log, Keyring: e.keyring,
		})
		if err != nil {
			sink.Close(ctx)
			return nil, err
		}
		r.engines = append(r.engines, eng)
		r.sinks = append(r.sinks, sink)
		r.names = append(r.names, d.Name)
	}
	return r, nil
}

// run runs every engine; each closes its sink when it returns.
func (r *sinkRole) run(ctx context.Context) error {
	var wg conc.WaitGroup
	errs := make([]error, len(r.engines))
	wg.Go(func() { r.plans.Run(ctx) })
	for i, eng := range r.engines {
		wg.Go(func() {
			if err := eng.Run(ctx); err != nil {
				errs[i] = fmt.Errorf("destination %s: %w", r.names[i], err)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *sinkRole) ready(context.Context) error {
	for i, eng := range r.engines {
		if !eng.Ready() {
			return fmt.Errorf("destination %s: %w", r.names[i], errNotReady)
		}
	}
	return nil
}

// close closes the sinks; an engine that ran has closed its own already,
// and closing a sink twice is allowed.
func (r *sinkRole) close() {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for _, s := range r.sinks {
		s.Close(ctx)
	}
}
