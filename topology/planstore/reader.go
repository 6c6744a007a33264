package planstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/schemas/plan"
)

// Reader follows the tracking-plans topic and keeps a validate.Validator
// holding the latest loadable version of every plan. It fails closed: until
// it has read the topic up to the end offsets it saw at start, Ready is
// false and the validator holds no plans (events of planned sources are
// blocked as Unknown-Plan). Plan answers for every version it has read.
type Reader struct {
	cfg   Config
	v     *validate.Validator
	log   *slog.Logger
	ready chan struct{}
	once  sync.Once

	// mu guards h and loaded for Plan. Only Run writes them, so Run reads
	// them without it.
	mu      sync.RWMutex
	h       history
	loaded  map[versionKey]loadedVersion
	applied map[string]int // plan → version installed in the validator; Run only
}

// versionKey names one version of one plan.
type versionKey struct {
	plan    string
	version int
}

// loadedVersion is the plan built from one history document, nil when the
// document does not load; it is stale once h holds another document.
type loadedVersion struct {
	doc *plan.Version
	p   *plan.Plan
}

// NewReader returns a Reader that will feed v once Run is called.
func NewReader(cfg Config, v *validate.Validator) (*Reader, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Reader{
		cfg: cfg, v: v, log: cfg.logger(), ready: make(chan struct{}),
		h: history{}, loaded: map[versionKey]loadedVersion{}, applied: map[string]int{},
	}, nil
}

// Plan returns a version of a plan as read from the topic, so that events
// the router judged by an older version can still be typed. It returns false
// for a version not read yet, withdrawn, or that does not load. Safe for
// concurrent use; it never waits for Run.
func (r *Reader) Plan(name string, version int) (*plan.Plan, bool) {
	k := versionKey{name, version}
	r.mu.RLock()
	doc := r.h[name][version]
	c := r.loaded[k]
	r.mu.RUnlock()
	if doc == nil {
		return nil, false
	}
	if c.doc == doc {
		return c.p, c.p != nil
	}
	// Built outside the lock: checking a plan is slow, and two callers
	// building the same version at once get equal plans.
	p, err := doc.Load()
	if err != nil {
		r.log.Warn("a tracking plan version asked for does not load", "plan", name, "version", version, "error", err)
	}
	r.mu.Lock()
	if r.h[name][version] == doc {
		r.loaded[k] = loadedVersion{doc: doc, p: p}
	}
	r.mu.Unlock()
	return p, p != nil
}

// Ready reports whether the reader has caught up with the topic once.
func (r *Reader) Ready() bool {
	select {
	case <-r.ready:
		return true
	default:
		return false
	}
}

// WaitReady blocks until the reader is ready or ctx ends.
func (r *Reader) WaitReady(ctx context.Context) error {
	select {
	case <-r.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run reads the topic until ctx ends, returning ctx's error. Broker errors
// are retried; the validator keeps the last plans it was given.
func (r *Reader) Run(ctx context.Context) error {
	topic := r.cfg.Topic()
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(r.cfg.brokers()...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// A partition may end with a transaction marker (the dev broker's
		// cleaner writes them): it is read to know the end was reached.
		kgo.KeepControlRecords(),
		// A topic created after start is found within this delay.
		kgo.MetadataMaxAge(10 * time.Second),
	}, r.cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("planstore: %w", err)
	}
	defer cl.Close()

	ends, err := r.startOffsets(ctx, kadm.NewClient(cl), topic)
	if err != nil {
		return err
	}
	if len(ends) == 0 {
		r.markReady()
	}
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		fetches.EachError(func(t string, p int32, err error) {
			r.log.Warn("reading tracking plans", "topic", t, "partition", p, "error", err)
		})
		touched := map[string]bool{}
		r.mu.Lock()
		fetches.EachRecord(func(rec *kgo.Record) {
			if end, ok := ends[rec.Partition]; ok && rec.Offset+1 >= end {
				delete(ends, rec.Partition)
			}
			if rec.Attrs.IsControl() {
				return
			}
			r.h.apply(rec, r.log.Warn)
			if name, version, err := plan.ParseKey(string(rec.Key)); err == nil {
				touched[name] = true
				delete(r.loaded, versionKey{name, version})
			}
		})
		r.mu.Unlock()
		if !r.Ready() {
			if len(ends) > 0 {
				continue // catching up: install nothing until the end
			}
			for name := range r.h {
				touched[name] = true
			}
		}
		for name := range touched {
			r.install(name)
		}
		r.markReady()
	}
}

// startOffsets lists the end offsets to catch up to, retrying until the
// broker answers or ctx ends.
func (r *Reader) startOffsets(ctx context.Context, adm *kadm.Client, topic string) (map[int32]int64, error) {
	backoff := 100 * time.Millisecond
	for {
		ends, err := endOffsets(ctx, adm, topic)
		if err == nil {
			for p, end := range ends {
				if end == 0 {
					delete(ends, p)
				}
			}
			return ends, nil
		}
		r.log.Warn("tracking plans not ready: cannot list end offsets", "error", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// install gives the validator the highest version of a plan that loads,
// or removes the plan when none is left.
func (r *Reader) install(name string) {
	for {
		doc := r.h.latest(name)
		if doc == nil {
			if _, ok := r.applied[name]; ok {
				r.v.Remove(name)
				delete(r.applied, name)
				r.log.Info("tracking plan withdrawn", "plan", name)
			}
			return
		}
		if r.applied[name] == doc.Version {
			return
		}
		p, err := doc.Load()
		if err == nil {
			err = r.v.Put(p, doc.Version)
		}
		if err == nil {
			r.applied[name] = doc.Version
			r.mu.Lock()
			r.loaded[versionKey{name, doc.Version}] = loadedVersion{doc: doc, p: p}
			r.mu.Unlock()
			r.log.Info("tracking plan installed", "plan", name, "version", doc.Version, "hash", doc.Hash)
			return
		}
		// Fall back to the previous version rather than to no plan at all.
		r.log.Warn("skipping a tracking plan version that does not load", "plan", name, "version", doc.Version, "error", err)
		r.mu.Lock()
		delete(r.h[name], doc.Version)
		delete(r.loaded, versionKey{name, doc.Version})
		r.mu.Unlock()
	}
}

func (r *Reader) markReady() { r.once.Do(func() { close(r.ready) }) }

// errNotReady is what callers report while the reader catches up.
var errNotReady = errors.New("planstore: tracking plans not caught up")

// Check returns nil once ready and an error before: for /readyz.
func (r *Reader) Check() error {
	if r.Ready() {
		return nil
	}
	return errNotReady
}
