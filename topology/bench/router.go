package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/router"
	"github.com/sluicehq/sluice/topology/topics"
)

// RouterConfig describes one router benchmark. The zero value works.
type RouterConfig struct {
	// Events is how many events to route; default 1,000,000.
	Events int
	// Partitions of events.raw and every destination topic; default 6.
	Partitions int
	// Out receives the human-readable lines; default discards.
	Out io.Writer
}

// RouterResult is what Router measured. The JSON names are the bench's
// contract with scripts.
type RouterResult struct {
	Events                  int     `json:"events"`
	Partitions              int     `json:"partitions"`
	Seconds                 float64 `json:"seconds"`
	EventsPerSec            float64 `json:"events_per_sec"`
	PassthroughSeconds      float64 `json:"passthrough_seconds"`
	PassthroughEventsPerSec float64 `json:"passthrough_events_per_sec"`
	Ratio                   float64 `json:"ratio"`
}

// Router routes Events mixed events (10% from suppressed users, a tracking
// plan enforced, three destinations behind consent) through one router on
// the embedded broker, and in the same run a raw franz-go transactional
// consume→produce passthrough of the same records as the baseline.
func Router(ctx context.Context, cfg RouterConfig) (RouterResult, error) {
	if cfg.Events == 0 {
		cfg.Events = 1_000_000
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 6
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	res := RouterResult{Events: cfg.Events, Partitions: cfg.Partitions}
	ws, err := config.Parse([]byte(routerWorkspace))
	if err != nil {
		return res, err
	}
	names := topics.Names{Prefix: ws.TopicPrefix}
	dests := []string{"warehouse", "crm", "stream"}
	specs := append(names.All(int32(cfg.Partitions), dests), topics.Spec{Name: "bench.passthrough", Partitions: int32(cfg.Partitions)})

	err = withBroker(ctx, specs, func(addr string) error {
		cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ProducerBatchMaxBytes(1<<20))
		if err != nil {
			return err
		}
		defer cl.Close()
		fmt.Fprintf(out, "preparing %d events, %d suppressed users, a tracking plan\n", cfg.Events, benchUsers/10)
		if err := prepareRouterInput(ctx, cl, addr, names, cfg.Events); err != nil {
			return err
		}
		raw := names.Of(topics.Raw)

		start := time.Now()
		if err := passthrough(ctx, addr, raw, "bench.passthrough", cfg.Events); err != nil {
			return fmt.Errorf("passthrough: %w", err)
		}
		res.PassthroughSeconds = time.Since(start).Seconds()
		res.PassthroughEventsPerSec = float64(cfg.Events) / res.PassthroughSeconds
		fmt.Fprintf(out, "passthrough: %.2fs, %.0f events/s\n", res.PassthroughSeconds, res.PassthroughEventsPerSec)

		r, err := router.New(router.Config{Seeds: []string{addr}, Workspace: ws})
		if err != nil {
			return err
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		start = time.Now()
		go func() { done <- r.Run(rctx) }()
		err = waitCommitted(ctx, kadm.NewClient(cl), "sluice-router", raw, done)
		res.Seconds = time.Since(start).Seconds()
		stop()
		if rerr := <-done; err == nil {
			err = rerr
		}
		if err != nil {
			return err
		}
		res.EventsPerSec = float64(cfg.Events) / res.Seconds
		return nil
	})
	if err != nil {
		return res, err
	}
	res.Ratio = res.EventsPerSec / res.PassthroughEventsPerSec
	fmt.Fprintf(out, "router:      %.2fs, %.0f events/s (start-up and table catch-up included)\n", res.Seconds, res.EventsPerSec)
	fmt.Fprintf(out, "ratio:       %.2f of the passthrough\n", res.Ratio)
	return res, nil
}

// prepareRouterInput writes the events, the suppressions and the plan.
func prepareRouterInput(ctx context.Context, cl *kgo.Client, addr string, names topics.Names, n int) error {
	raw := names.Of(topics.Raw)
	evs := routerEvents(n)
	var firstErr error
	for i := range evs {
		cl.Produce(ctx, &kgo.Record{Topic: raw, Key: evs[i].AppendKey(nil), Value: evs[i].AppendRaw(nil)}, func(_ *kgo.Record, err error) {
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	for u := range benchUsers / 10 {
		key, _ := suppress.Key("bench", suppress.UserID, benchUser(u))
		val, _ := suppress.EncodeRecord(suppress.Record{RegulationID: "bench", SubjectType: suppress.UserID, SubjectID: benchUser(u), At: time.Now()})
		cl.Produce(ctx, &kgo.Record{Topic: names.Of(topics.Suppressions), Key: key, Value: val}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	p, err := plan.Check(benchPlan)
	if err != nil {
		return err
	}
	store, err := planstore.New(planstore.Config{Brokers: []string{addr}, TopicPrefix: names.Prefix})
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = store.Publish(ctx, p, planstore.PublishOptions{Author: "bench"})
	return err
}

// passthrough copies n records from one topic to another with a
// transactional consume→produce loop: the router's Kafka work with no stages.
func passthrough(ctx context.Context, addr, from, to string, n int) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(addr), kgo.TransactionalID("bench-passthrough"), kgo.ConsumerGroup("bench-passthrough"),
		kgo.ConsumeTopics(from), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ProducerLinger(0),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	seen := 0
	for seen < n {
		fs := sess.PollRecords(ctx, 10_000)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sess.Begin(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			sess.Produce(ctx, &kgo.Record{Topic: to, Key: r.Key, Value: r.Value}, nil)
		})
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			return err
		}
		if committed {
			seen += fs.NumRecords()
		}
	}
	return nil
}

// waitCommitted waits until group has committed the end of topic, or the
// router stops.
func waitCommitted(ctx context.Context, adm *kadm.Client, group, topic string, stopped <-chan error) error {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	for {
		select {
		case err := <-stopped:
			return errors.Join(errors.New("router stopped before finishing"), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			continue
		}
		done := true
		ends.Each(func(e kadm.ListedOffset) {
			if o, ok := offs.Lookup(topic, e.Partition); !ok || o.At < e.Offset {
				done = false
			}
		})
		if done {
			return nil
		}
	}
}
