// Package delivery is the sink role's engine: one consumer group per
// destination on dest.<name>, so a slow or dead destination never slows
// another. It batches records within the sink's limits, re-checks
// suppression and consent right before every write attempt, retries with
// exponential backoff and jitter as sinks.Classify decides, dead-letters what
// can never be delivered, and commits offsets only after delivery.
//
// Suppression at delivery (DESIGN guarantee 1): before every write attempt
// the engine reads the end offsets of the suppression, identity, consent
// and keys topics and waits until its tables have applied everything before
// them. A suppression the API acknowledged before that moment is therefore
// applied to the batch, including events the router routed before the
// suppression existed.
//
// Sealed values (package processors/shred): the engine opens each record
// with the data key its envelope names and hands the sink plaintext events,
// so ClickHouse, webhooks and Kafka destinations receive them in clear (a
// destination's data is its own). A record whose key is shredded (also
// between retries of a destination that is down), cannot be unwrapped, or
// that is not sealed is dropped and counted (outcome key_shredded,
// key_unwrappable, not_sealed), never delivered nor dead-lettered. Dead
// letters are sealed with their event's key.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/tables"
	"github.com/sluicehq/sluice/topology/topics"
)

// Config configures one destination's delivery. Seeds, Workspace,
// Destination and Sink are required.
type Config struct {
	// Seeds are the brokers to bootstrap from.
	Seeds []string
	// ClientOpts are extra franz-go options (TLS, SASL) for every client.
	ClientOpts []kgo.Opt
	// Workspace is the pipeline the destination belongs to.
	Workspace config.Config
	// Destination names the destination in Workspace.Destinations.
	Destination string
	// Sink delivers the batches; the engine closes it when Run returns.
	Sink sinks.Sink
	// Group is the consumer group id; default "sluice-sink-<Destination>".
	Group string
	// MaxAttempts is how many writes an event gets before it is
	// dead-lettered; default 10.
	MaxAttempts int
	// RetryBase and RetryMax bound the exponential backoff; default 200ms
	// and 30s. A destination's Retry-After lengthens a wait, never shortens it.
	RetryBase, RetryMax time.Duration
	// Registry receives the engine's metrics; nil registers nothing.
	Registry prometheus.Registerer
	// Logger receives logs, which carry no user data; default discards.
	Logger *slog.Logger
	// Keyring unwraps the data keys of the keys topic: dest.<name> values
	// are opened with them before the sink sees them, and dead letters are
	// sealed with the event's key (package processors/shred). Nil: values
	// are plaintext.
	Keyring *shred.Keyring
}

func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = "sluice-sink-" + c.Destination
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 10
	}
	if c.RetryBase == 0 {
		c.RetryBase = 200 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Engine delivers one destination's topic.
type Engine struct {
	cfg      Config
	log      *slog.Logger
	limits   sinks.Limits
	topic    string
	dlqTopic string
	privacy  *privacy
	keys     *shred.Table // nil: encryption disabled
	follower *tables.Follower
	tables   []interface{ MarkCaughtUp() }
	metrics  *metrics
	ready    atomic.Bool
}

// New builds an engine; Run starts it.
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if len(cfg.Seeds) == 0 {
		return nil, errors.New("delivery: Seeds: at least one broker is required")
	}
	if cfg.Sink == nil {
		return nil, errors.New("delivery: Sink is required")
	}
	limits := cfg.Sink.Limits()
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	ws := cfg.Workspace.WithDefaults()
	var dest *config.Destination
	for i := range ws.Destinations {
		if ws.Destinations[i].Name == cfg.Destination {
			dest = &ws.Destinations[i]
		}
	}
	if dest == nil {
		return nil, fmt.Errorf("delivery: Destination %q is not in the workspace", cfg.Destination)
	}
	cats, err := consent.NewCategories(ws.Consent.Categories)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	mask, err := cats.Mask(dest.Categories)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	whenMissing, err := consent.ParseWhenMissing(ws.Consent.WhenMissing)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	hasher := suppress.NewHasher()
	table, ids := suppress.NewTable(hasher), suppress.NewIdentities(hasher)
	stage, err := suppress.NewStage(table, ids)
	if err != nil {
		return nil, fmt.Errorf("delivery: %w", err)
	}
	store := consent.NewStore(cats)
	names := topics.Names{Prefix: ws.TopicPrefix}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Logger.With("destination", cfg.Destination),
		limits:   limits,
		topic:    names.Destination(cfg.Destination),
		dlqTopic: names.Of(topics.DeadLetter),
		privacy:  &privacy{suppress: stage, consent: store, categories: cats, mask: mask, whenMissing: whenMissing},
		tables:   []interface{ MarkCaughtUp() }{table, ids, store},
		metrics:  newMetrics(cfg.Registry, cfg.Destination),
	}
	apply := func(name string, fn func(k, v []byte) error) tables.Handler {
		return func(k, v []byte) {
			if err := fn(k, v); err != nil {
				e.log.Warn("skipping an unreadable table record", "table", name, "error", err)
			}
		}
	}
	handlers := map[string]tables.Handler{
		names.Of(topics.Suppressions): apply("suppressions", table.Apply),
		names.Of(topics.Identities):   apply("identities", ids.Apply),
		names.Of(topics.Consent):      apply("consent", store.Apply),
	}
	if cfg.Keyring != nil {
		e.keys = shred.NewTable(cfg.Keyring)
		e.tables = append(e.tables, e.keys)
		handlers[names.Of(topics.Keys)] = apply("keys", e.keys.Apply)
	}
	e.follower, err = tables.New(cfg.Seeds, handlers, cfg.ClientOpts...)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// Ready reports whether the tables caught up and the engine consumes.
func (e *Engine) Ready() bool { return e.ready.Load() }

// Run delivers until ctx ends; then it delivers and commits what it holds
// (bounded by the sink's MaxWait and the retry policy), leaves the group and
// closes the sink. It returns an error only for a failure it cannot recover from.
func (e *Engine) Run(ctx context.Context) error {
	defer e.cfg.Sink.Close(context.WithoutCancel(ctx))
	tctx, stopTables := context.WithCancel(context.WithoutCancel(ctx))
	followerDone := make(chan struct{})
	go func() { defer close(followerDone); e.follower.Run(tctx) }()
	defer func() { stopTables(); <-followerDone }()

	if err := e.catchUp(ctx); err != nil {
		return nil // ctx ended while waiting
	}
	for _, t := range e.tables {
		t.MarkCaughtUp()
	}

	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(e.cfg.Seeds...),
		kgo.ConsumerGroup(e.cfg.Group),
		kgo.ConsumeTopics(e.topic),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		// A rebalance waits until the records in hand are delivered and
		// committed, so a revoked partition is always finished first.
		kgo.BlockRebalanceOnPoll(),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}, e.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	defer cl.Close()
	e.ready.Store(true)
	defer e.ready.Store(false)
	e.log.Info("delivering", "topic", e.topic, "group", e.cfg.Group)

	for {
		held, err := e.gather(ctx, cl)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			// Delivery runs to its end on shutdown too: stop consuming,
			// drain, flush, commit, leave.
			dctx := context.WithoutCancel(ctx)
			if err := e.flush(dctx, ctx, cl, held); err != nil {
				e.log.Warn("delivery interrupted; the records will be delivered again", "error", err)
				cl.AllowRebalance()
				return nil
			}
		}
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// catchUp waits until the tables hold everything committed to their topics.
func (e *Engine) catchUp(ctx context.Context) error {
	wait := 100 * time.Millisecond
	for {
		err := e.follower.CatchUp(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		e.log.Warn("tables cannot catch up yet", "error", err)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// gather polls until a batch is due: MaxEvents or MaxBytes records are held,
// the oldest has waited MaxWait, or ctx ended.
func (e *Engine) gather(ctx context.Context, cl *kgo.Client) ([]*kgo.Record, error) {
	var held []*kgo.Record
	var bytes int
	var deadline time.Time
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			pctx, cancel = context.WithDeadline(ctx, deadline)
		}
		fs := cl.PollRecords(pctx, e.limits.MaxEvents-len(held))
		cancel()
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				e.log.Warn("fetch error", "topic", t, "partition", p, "error", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			held = append(held, r)
			bytes += len(r.Value)
		})
		if len(held) > 0 && deadline.IsZero() {
			deadline = time.Now().Add(e.limits.MaxWait)
		}
		switch {
		case ctx.Err() != nil, len(held) >= e.limits.MaxEvents, bytes >= e.limits.MaxBytes:
			return held, nil
		case !deadline.IsZero() && !time.Now().Before(deadline):
			return held, nil
		}
	}
}
