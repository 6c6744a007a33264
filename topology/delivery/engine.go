// Package delivery is the sink role's engine: one consumer group per
// destination on dest.<name>, so a slow or dead destination never slows
// another. It batches records within the sink's limits, re-checks
// suppression and consent right before every write attempt, skips
// messageIds it already delivered, retries for a time horizon, dead-letters
// what can never be delivered, and commits offsets only after delivery.
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
//
// # Retries by time
//
// A batch failing with an error sinks.Classify calls retryable (5xx, 408,
// 429, timeouts, refused connections) is retried, the same batch or the
// events a BatchError names, with exponential backoff from RetryBase capped
// at RetryMax and full jitter, never sooner than a Retry-After, until
// RetryHorizon has passed since its first failure (destination setting
// retry.horizon, default 6h). Only a permanent error or an expired horizon
// dead-letters (reasons permanent, retry_horizon; undecodable for a value
// that is no event), logged at warn with count, partition and offsets and
// counted in sluice_sink_deadletters_total. Shutdown interrupts the waits
// and leaves the batch uncommitted. The time of the first failure is kept
// in the commit metadata (below), so neither a restart nor a rebalance
// extends the horizon. During an outage sluice_sink_oldest_undelivered_seconds
// grows, sluice_sink_retrying_partitions is non-zero and
// sluice_sink_lag_records (refreshed apart from delivery) counts what waits.
//
// # Batches announced in commits: the same Idempotency-Key after a crash
//
// Before every write attempt the engine commits the batch's first offset
// with metadata "sluice/1 <at> <last> <since>": the batch starting at the
// committed offset ends at offset last. After a crash or a rebalance, the
// next owner reads it on assignment, holds records until it has the whole
// range, and cuts exactly that batch again, so the re-delivered batch has
// the same offsets and the same token (sinks.Batch.Token, the webhook's
// Idempotency-Key), even though more records have arrived since. It can
// still differ in one way: an event of it suppressed (or whose key was
// shredded) between the two attempts is left out, and the key changes with
// it. Batches after the first are cut by the sink's limits as usual.
//
// # Rebalances while retrying
//
// The client blocks rebalances while records are in hand
// (BlockRebalanceOnPoll), so that a member never commits a partition it no
// longer owns. A rebalance that waits (OnPartitionsCallbackBlocked) stops
// the retry waits at once: the partitions not finished are rewound to
// their committed offset, the rebalance proceeds, and whoever owns each
// partition afterwards resumes its announced batch, with its first-failure
// time. A rebalance so waits at most for one write attempt (the sink's
// request timeout, which must stay below the group's rebalance timeout,
// 60 s by default). The commit before each attempt is also a lease check:
// the coordinator refuses it (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID) from a
// member that was removed from the group, for exceeding the rebalance
// timeout or any other reason, and such a member stops without writing.
// The only overlap left is a write already in flight when the member was
// removed; the new owner then writes the same announced batch, with the
// same token, which the sink's idempotency absorbs.
//
// # Nothing doubled: messageId dedup
//
// The router puts on every dest.<name> record the header
// topics.HeaderMessageHash (a stable hash of workspace and messageId). The
// engine keeps, per owned partition, a processors/dedup Set of the messages
// it settled there: delivered, or dropped by the privacy re-check or a
// shredded key (never deliverable). Dead-lettered messages are not
// settled, so a replay of a dead letter is delivered. A record whose hash
// was settled within DedupWindow (record time, destination setting
// dedup.window, default 1h), or that repeats one earlier in its batch, is
// skipped (outcome duplicate) and committed. Hashes are mixed with a
// per-process seed before they index the Set.
//
// On assignment the Set is rebuilt before any record of the partition is
// delivered: from the committed offset's metadata (the record time of the
// last settled record, at), the engine reads the headers of the dead-letter
// topic from at − window to its end (the sink's dead letters carry the
// destination and origin offset in headers) and then the headers of the
// partition from at − window up to the committed offset, adding every
// record except the dead-lettered ones. Values are not decrypted. Since the
// live Set and the replay see the same records, the rebuilt Set answers as
// the lost one would (package processors/dedup).
//
// The argument. Let a message m reach dest.<name> twice, at offsets o1 < o2
// of one partition (any number of copies works the same way), whatever the
// cause: a broker committing the router's transaction in steps (outputs
// committed, input offsets not), a replay of a dead letter that was in
// fact delivered, a producer retry. The engine handles a partition's
// records in offset order and commits o1 only once m is settled. Either
// o2 is handled by the member that settled o1, whose Set holds m; or by a
// later owner, which rebuilt the Set from every settled record before the
// committed offset ≥ o1 + 1, so it holds m; or o1 was delivered but not
// committed (a crash in between), in which case the new owner re-delivers
// o1's announced batch with the same token (absorbed by the sink), settles
// m, and then skips o2. Either way o2 is skipped, provided o2's record time
// is within the window of o1's (the assumption: copies arrive within
// DedupWindow of each other; the router's re-routing after a crash does so
// within its restart time) and the hash header is present (records routed
// before it existed are deduplicated live by the decoded messageId, but not
// across a rebuild). Two different messages with one 64-bit hash on one
// partition within a window would lose the second; with n settled messages
// the chance per message is n/2^64. A crafted collision needs a write key
// and only drops the sender's own event.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
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
	// RetryHorizon is how long a batch failing with a retryable error is
	// retried, from its first failure, before it is dead-lettered; zero
	// takes the destination's retry.horizon (default 6h).
	RetryHorizon time.Duration
	// RetryBase and RetryMax bound the exponential backoff; default 200ms
	// and the destination's retry.maxBackoff (default 1m). A destination's
	// Retry-After lengthens a wait, never shortens it.
	RetryBase, RetryMax time.Duration
	// DedupWindow is how long, in record time, a delivered messageId is
	// skipped; zero takes the destination's dedup.window (default 1h).
	DedupWindow time.Duration
	// LagInterval is how often the lag gauge is refreshed; default 10s.
	LagInterval time.Duration
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

func (c Config) withDefaults(dest config.Destination) Config {
	if c.Group == "" {
		c.Group = "sluice-sink-" + c.Destination
	}
	retry, dedup := dest.Retry.WithDefaults(), dest.Dedup.WithDefaults()
	if c.RetryHorizon == 0 {
		c.RetryHorizon = retry.Horizon.Duration
	}
	if c.RetryBase == 0 {
		c.RetryBase = 200 * time.Millisecond
	}
	if c.RetryMax == 0 {
		c.RetryMax = retry.MaxBackoff.Duration
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = dedup.Window.Duration
	}
	if c.LagInterval == 0 {
		c.LagInterval = 10 * time.Second
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
	owned    *owned
	// rebalanceWanted is set while a rebalance waits for the records in
	// hand; abandon (if set) stops the retries of the current flush.
	rebalanceWanted atomic.Bool
	abandon         atomic.Pointer[context.CancelFunc]
	idMu            sync.Mutex
	id              [16]byte // dest.<name>'s topic id, for commits
}

// New builds an engine; Run starts it.
func New(cfg Config) (*Engine, error) {
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
	cfg = cfg.withDefaults(*dest)
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
		owned:    newOwned(cfg.DedupWindow),
	}
	e.metrics = newMetrics(cfg.Registry, cfg.Destination, e.owned)
	apply := func(name string, fn func(k, v []byte) error) tables.Handler {
		return func(k, v []byte) {
			if err := fn(k, v); err != nil {
				e.log.Warn("skipping an unreadable table record", "table", name, "error", err)
			}
		}
	}
	handlers := map[string]tables.Handler{
		names.Of(topics.Suppressions): apply("suppressions", table.Apply),
		names.Of(topics.Identities):   apply("identities", tables.ApplyLink(ids, store)),
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
		// committed, or their retries abandoned (see the package doc).
		kgo.BlockRebalanceOnPoll(),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) { e.wantRebalance() }),
		kgo.OnPartitionsAssigned(e.assigned),
		kgo.OnPartitionsRevoked(e.revoked),
		kgo.OnPartitionsLost(e.revoked),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}, e.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("delivery: %w", err)
	}
	defer cl.Close()
	lagDone := make(chan struct{})
	go func() { defer close(lagDone); e.followLag(tctx, cl) }()
	defer func() { stopTables(); <-lagDone }()
	e.ready.Store(true)
	defer e.ready.Store(false)
	e.log.Info("delivering", "topic", e.topic, "group", e.cfg.Group)

	for {
		held, err := e.gather(ctx, cl)
		if err != nil {
			return err
		}
		if len(held) > 0 {
			// Delivery runs to its end on shutdown too (stop consuming,
			// drain, flush, commit, leave), but retries stop at once.
			rctx, cancel := context.WithCancel(ctx)
			e.abandon.Store(&cancel)
			if e.rebalanceWanted.Load() {
				cancel()
			}
			unfinished, err := e.flush(context.WithoutCancel(ctx), rctx, cl, held)
			e.abandon.Store(nil)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					e.log.Warn("delivery interrupted by shutdown; the records will be delivered again", "error", err)
					cl.AllowRebalance()
					return nil
				}
				e.log.Warn("delivery paused for a rebalance; the records will be delivered again", "error", err)
				// Partitions this member keeps resume where delivery stopped.
				cl.SetOffsets(map[string]map[int32]kgo.EpochOffset{e.topic: unfinished})
			}
		}
		e.rebalanceWanted.Store(false)
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil
		}
	}
}

// wantRebalance is called when a rebalance waits for the records in hand:
// retries stop, so the rebalance proceeds after at most one write attempt.
func (e *Engine) wantRebalance() {
	e.rebalanceWanted.Store(true)
	if cancel := e.abandon.Load(); cancel != nil {
		(*cancel)()
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
// the oldest has waited MaxWait, a rebalance waits, or ctx ended; and every
// partition whose committed batch cut it holds the start of, it holds to the
// cut's end (so a re-delivered batch is cut as before).
func (e *Engine) gather(ctx context.Context, cl *kgo.Client) ([]*kgo.Record, error) {
	var held []*kgo.Record
	var bytes int
	var deadline time.Time
	for {
		pctx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			pctx, cancel = context.WithDeadline(ctx, deadline)
		}
		fs := cl.PollRecords(pctx, max(e.limits.MaxEvents-len(held), 1))
		cancel()
		fs.EachError(func(t string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				e.log.Warn("fetch error", "topic", t, "partition", p, "error", err)
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			held = append(held, r)
			bytes += len(r.Value)
			e.owned.held(r)
		})
		if len(held) > 0 && deadline.IsZero() {
			deadline = time.Now().Add(e.limits.MaxWait)
		}
		due := len(held) >= e.limits.MaxEvents || bytes >= e.limits.MaxBytes ||
			(!deadline.IsZero() && !time.Now().Before(deadline)) || e.rebalanceWanted.Load()
		switch {
		case ctx.Err() != nil:
			return held, nil
		case due && !e.owned.cutsPending(held):
			return held, nil
		case due:
			deadline = time.Now().Add(e.limits.MaxWait) // poll on, to the cut's end
		}
	}
}
