// Package router is the router role: a consumer group on events.raw that
// judges every event (decode → dedup → suppress → validate → consent →
// filter) and routes it to the dest.<name> topics, exactly once: each batch's
// outputs (destination, violations, dead-letter and table records) and its
// source offsets are committed in one Kafka transaction.
//
// Before any partition is processed, the suppression, identity, consent,
// profile and key tables and the tracking plans are caught up to the end of
// their compacted topics (DESIGN guarantee 2). Before each batch, the tables are caught up
// again to the end offsets read at that moment, so a suppression the API has
// acknowledged before the batch was polled is applied to it (guarantee 1).
//
// Each partition's records are processed in order by one goroutine; partitions
// of one batch run in parallel. A rebalance aborts the open transaction (the
// session rewinds to the committed offsets), so revoked partitions are
// finished by their next owner without duplicates.
//
// Identify calls merge their traits into the user's profile (package
// profiles). A user's identify calls are all on one partition, so only that
// partition's owner merges into the profile; the merged record is part of
// the batch's transaction, and the merges of an aborted batch are forgotten.
// A new owner reads the previous owner's committed profiles at the barrier
// before its first batch.
//
// With a Keyring, events.raw values are envelopes sealed under their
// subject's data key (package processors/shred): the router opens each one
// with the key it names and seals every stream-topic output (destinations,
// violations, dead letters) under the same key, reusing the input envelope
// when a destination gets the value unchanged. A value whose key is shredded
// or cannot be unwrapped, or that is not sealed, is dropped and counted
// (key_shredded, key_unwrappable, not_sealed): never routed, never
// dead-lettered. Table records (identities, consent, profiles) stay plain:
// the regulator tombstones them.
package router

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc/pool"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/profiles"
	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/tables"
	"github.com/sluicehq/sluice/topology/topics"
)

// Config configures a router. Seeds and Workspace are required.
type Config struct {
	// Seeds are the brokers to bootstrap from.
	Seeds []string
	// ClientOpts are extra franz-go options (TLS, SASL) for every client.
	ClientOpts []kgo.Opt
	// Workspace is the pipeline: sources, consent and destinations.
	Workspace config.Config
	// Group is the consumer group id; default "sluice-router".
	Group string
	// TransactionalID identifies this member's producer; default
	// "<Group>-<random>". Give each process its own; keeping it across a
	// process's restarts lets the restarted router abort at start the
	// transaction its crashed predecessor left open.
	TransactionalID string
	// MaxPollRecords bounds one transaction's batch; default 50,000. It is
	// also the bound on records buffered in memory per member. Larger
	// batches spread the transaction's round trips over more events.
	MaxPollRecords int
	// TransactionTimeout is how long the broker lets a transaction of a
	// crashed member stay open before aborting it; default 1 minute. It also
	// bounds how long a batch may take.
	TransactionTimeout time.Duration
	// DedupWindow is how long a messageId is remembered; default 24h.
	DedupWindow time.Duration
	// Registry receives the router's metrics; nil registers nothing.
	Registry prometheus.Registerer
	// Logger receives logs, which carry no user data; default discards.
	Logger *slog.Logger
	// Keyring unwraps the data keys of the keys topic: events.raw values are
	// opened with them and every stream-topic output is sealed with its
	// event's key (package processors/shred). Nil: values are plaintext.
	Keyring *shred.Keyring
}

func (c Config) withDefaults() Config {
	if c.Group == "" {
		c.Group = "sluice-router"
	}
	if c.TransactionalID == "" {
		b := make([]byte, 6)
		rand.Read(b)
		c.TransactionalID = c.Group + "-" + hex.EncodeToString(b)
	}
	if c.MaxPollRecords == 0 {
		c.MaxPollRecords = 50_000
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = time.Minute
	}
	if c.DedupWindow == 0 {
		c.DedupWindow = 24 * time.Hour
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if len(c.Seeds) == 0 {
		return errors.New("router: Seeds: at least one broker is required")
	}
	if c.MaxPollRecords < 0 {
		return errors.New("router: MaxPollRecords: must not be negative")
	}
	return c.Workspace.Validate()
}

// Router is one member of the router group.
type Router struct {
	cfg        Config
	log        *slog.Logger
	names      topics.Names
	pipe       *pipeline
	follower   *tables.Follower
	plans      *planstore.Reader
	suppressed *suppress.Table
	parts      *partitions
	ready      atomic.Bool
}

// New builds a router; Run starts it.
func New(cfg Config) (*Router, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ws := cfg.Workspace
	names := topics.Names{Prefix: ws.TopicPrefix}
	cats, err := consent.NewCategories(ws.Consent.Categories)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	whenMissing, err := consent.ParseWhenMissing(ws.Consent.WhenMissing)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	m := newMetrics(cfg.Registry)
	dests, err := compileDestinations(ws, names, cats, m)
	if err != nil {
		return nil, err
	}
	hasher := suppress.NewHasher()
	table, ids := suppress.NewTable(hasher), suppress.NewIdentities(hasher)
	stage, err := suppress.NewStage(table, ids)
	if err != nil {
		return nil, fmt.Errorf("router: %w", err)
	}
	store := consent.NewStore(cats)
	profileStore := profiles.NewStore()
	validator := validate.New()
	sourcePlans := map[string]string{}
	for _, s := range ws.Sources {
		sourcePlans[s.Name] = s.TrackingPlan
	}
	r := &Router{
		cfg:   cfg,
		log:   cfg.Logger,
		names: names,
		pipe: &pipeline{
			names: names, plans: sourcePlans, suppress: stage, identities: ids,
			consent: store, profiles: profileStore, categories: cats, whenMissing: whenMissing,
			validator: validator, dests: dests, metrics: m,
		},
		suppressed: table,
		parts:      newPartitions(cfg.DedupWindow),
	}
	logApply := func(table string, apply func(k, v []byte) error) tables.Handler {
		return func(k, v []byte) {
			if err := apply(k, v); err != nil {
				r.log.Warn("skipping an unreadable table record", "table", table, "error", err)
			}
		}
	}
	handlers := map[string]tables.Handler{
		names.Of(topics.Suppressions): logApply("suppressions", table.Apply),
		names.Of(topics.Identities):   logApply("identities", tables.ApplyLink(ids, store)),
		names.Of(topics.Consent):      logApply("consent", store.Apply),
		names.Of(topics.Profiles):     logApply("profiles", profileStore.Apply),
	}
	if cfg.Keyring != nil {
		r.pipe.keys = shred.NewTable(cfg.Keyring)
		handlers[names.Of(topics.Keys)] = logApply("keys", r.pipe.keys.Apply)
	}
	r.follower, err = tables.New(cfg.Seeds, handlers, cfg.ClientOpts...)
	if err != nil {
		return nil, err
	}
	r.plans, err = planstore.NewReader(planstore.Config{
		Brokers: cfg.Seeds, TopicPrefix: ws.TopicPrefix, Logger: cfg.Logger, ClientOpts: cfg.ClientOpts,
	}, validator)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Ready reports whether the tables caught up and the router processes events.
func (r *Router) Ready() bool { return r.ready.Load() }

// Run runs the router until ctx ends, then leaves the group and returns nil;
// it returns an error only for a failure it cannot recover from.
func (r *Router) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	var bg sync.WaitGroup
	defer func() { cancel(); bg.Wait() }()
	bg.Add(2)
	go func() { defer bg.Done(); r.follower.Run(ctx) }()
	go func() { defer bg.Done(); r.plans.Run(ctx) }()

	if err := r.catchUp(ctx); err != nil {
		return nil // ctx ended while waiting
	}
	r.suppressed.MarkCaughtUp()
	r.pipe.identities.MarkCaughtUp()
	r.pipe.consent.MarkCaughtUp()
	r.pipe.profiles.MarkCaughtUp()
	if r.pipe.keys != nil {
		r.pipe.keys.MarkCaughtUp()
	}
	if err := r.plans.WaitReady(ctx); err != nil {
		return nil
	}
	r.log.Info("router tables caught up; joining the group", "group", r.cfg.Group)

	sess, err := kgo.NewGroupTransactSession(append([]kgo.Opt{
		kgo.SeedBrokers(r.cfg.Seeds...),
		kgo.TransactionalID(r.cfg.TransactionalID),
		kgo.ConsumerGroup(r.cfg.Group),
		kgo.ConsumeTopics(r.names.Of(topics.Raw)),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),

		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			r.parts.assign(a[r.names.Of(topics.Raw)])
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, rv map[string][]int32) {
			r.parts.revoke(rv[r.names.Of(topics.Raw)])
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			r.parts.revoke(l[r.names.Of(topics.Raw)])
		}),
		kgo.TransactionTimeout(r.cfg.TransactionTimeout),
		kgo.ProducerLinger(0),
	}, r.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("router: %w", err)
	}
	defer sess.Close()
	// Initializing the producer now, not at the first batch, aborts at once
	// a transaction left open by a crashed member of the same
	// TransactionalID, which would otherwise hold back the read-committed
	// readers of its outputs until TransactionTimeout.
	if _, _, err := sess.Client().ProducerID(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("router: initializing the transactional producer: %w", err)
	}
	bg.Add(1)
	go func() { defer bg.Done(); r.watchLag(ctx, kadm.NewClient(sess.Client())) }()
	r.ready.Store(true)
	r.pipe.metrics.ready.Set(1)
	defer r.pipe.metrics.ready.Set(0)

	for ctx.Err() == nil {
		if err := r.batch(ctx, sess); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
	return nil
}

// catchUp waits until the tables hold everything committed to their topics,
// retrying while the broker is unreachable.
func (r *Router) catchUp(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		err := r.follower.CatchUp(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		r.log.Warn("router tables cannot catch up yet", "error", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// batch processes one poll in one transaction. Once records are polled the
// batch runs to its end even if ctx ends (shutdown drains, then commits),
// bounded by the transaction timeout.
func (r *Router) batch(ctx context.Context, sess *kgo.GroupTransactSession) error {
	fs := sess.PollRecords(ctx, r.cfg.MaxPollRecords)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.TransactionTimeout)
	defer cancel()
	fs.EachError(func(t string, p int32, err error) {
		r.log.Warn("fetch error", "topic", t, "partition", p, "error", err)
	})
	if fs.NumRecords() == 0 {
		return nil
	}
	start := time.Now()
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("router: begin transaction: %w", err)
	}
	// The barrier: apply every suppression acknowledged before this batch.
	if err := r.follower.CatchUp(ctx); err != nil {
		r.end(ctx, sess, kgo.TryAbort, start)
		return nil
	}
	var produceErr atomic.Pointer[error]
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			produceErr.CompareAndSwap(nil, &err)
		}
	}
	var touched []*partitionState
	var mu sync.Mutex
	work := pool.New().WithMaxGoroutines(max(2, len(fs)))
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		ps := r.parts.get(p.Partition)
		mu.Lock()
		touched = append(touched, ps)
		mu.Unlock()
		work.Go(func() {
			if !ps.rebuilt {
				if err := rebuild(ctx, r.cfg.Seeds, r.cfg.ClientOpts, p.Topic, p.Partition, p.Records[0].Offset, r.cfg.DedupWindow, r.pipe.keys, ps); err != nil {
					e := fmt.Errorf("partition %d: %w", p.Partition, err)
					produceErr.CompareAndSwap(nil, &e)
					return
				}
			}
			var s scratch
			out := make([]*kgo.Record, 0, 4)
			for _, rec := range p.Records {
				r.pipe.metrics.in.Inc()
				out = r.pipe.route(&s, rec, ps.seen, out[:0])
				for _, o := range out {
					sess.Produce(ctx, o, promise)
				}
			}
		})
	})
	work.Wait()
	if errp := produceErr.Load(); errp != nil {
		r.log.Warn("aborting a batch", "error", *errp)
		r.end(ctx, sess, kgo.TryAbort, start)
		for _, ps := range touched {
			ps.abort()
		}
		r.pipe.profiles.Abort()
		return nil
	}
	r.observeTables()
	committed, err := r.end(ctx, sess, kgo.TryCommit, start)
	for _, ps := range touched {
		if committed {
			ps.commit()
		} else {
			ps.abort()
		}
	}
	if committed {
		r.pipe.profiles.Commit()
	} else {
		r.pipe.profiles.Abort()
	}
	return err
}

// watchLag publishes the group's lag on events.raw every few seconds.
func (r *Router) watchLag(ctx context.Context, adm *kadm.Client) {
	raw := r.names.Of(topics.Raw)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
		ends, err := adm.ListEndOffsets(ctx, raw)
		if err != nil {
			continue
		}
		committed, err := adm.FetchOffsets(ctx, r.cfg.Group)
		if err != nil {
			continue
		}
		var lag int64
		ends.Each(func(e kadm.ListedOffset) {
			at := int64(0)
			if o, ok := committed.Lookup(raw, e.Partition); ok && o.At > 0 {
				at = o.At
			}
			lag += max(0, e.Offset-at)
		})
		r.pipe.metrics.lag.Set(float64(lag))
	}
}

// observeTables publishes the tables' sizes.
func (r *Router) observeTables() {
	t := r.pipe.metrics.tableEntries
	t.WithLabelValues("suppressions").Set(float64(r.suppressed.Len()))
	t.WithLabelValues("identities").Set(float64(r.pipe.identities.Len()))
	t.WithLabelValues("consent").Set(float64(r.pipe.consent.Len()))
	t.WithLabelValues("profiles").Set(float64(r.pipe.profiles.Len()))
	if r.pipe.keys != nil {
		t.WithLabelValues("keys").Set(float64(r.pipe.keys.Len()))
	}
}

// end ends the transaction and records its outcome.
func (r *Router) end(ctx context.Context, sess *kgo.GroupTransactSession, try kgo.TransactionEndTry, start time.Time) (bool, error) {
	committed, err := sess.End(ctx, try)
	m := r.pipe.metrics
	m.txnSeconds.Observe(time.Since(start).Seconds())
	switch {
	case err != nil:
		m.txnOutcome.WithLabelValues("error").Inc()
		return false, fmt.Errorf("router: end transaction: %w", err)
	case committed:
		m.txnOutcome.WithLabelValues("committed").Inc()
	default:
		m.txnOutcome.WithLabelValues("aborted").Inc()
	}
	return committed, nil
}
