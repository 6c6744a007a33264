package regulator

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/topics"
)

// Service is the regulations service of one workspace: it files regulations
// (NewHandler) and, as the regulator role, carries them out (Run). It follows
// the regulations topic from Open to Close. Safe for concurrent use.
type Service struct {
	cfg   Config
	names topics.Names
	prod  *kgo.Client // idempotent, acks=all; also the admin client's transport
	adm   *kadm.Client
	store *store
	log   *slog.Logger

	running atomic.Pointer[owner] // the owner of a running Run, for tests

	stop context.CancelFunc
	done sync.WaitGroup
}

// Open validates cfg, connects, and starts following the regulations topic.
// It does not wait for the broker: answers that need the topic wait for it.
// The regulations topic takes records of up to topics.RegulationsMaxBytes
// when made by topics.Apply.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.Destinations = slices.Clone(cfg.Destinations)
	for i, d := range cfg.Destinations {
		if d.Internal && d.Deleter == nil && cfg.Warehouse != nil {
			cfg.Destinations[i].Deleter = cfg.Warehouse
		}
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(cfg.Brokers...),
		// Idempotent writes are franz-go's default; acks=all is what makes a
		// suppression or a tombstone survive the loss of a broker.
		kgo.RequiredAcks(kgo.AllISRAcks()),
		// Keyed records land where every other sluice writer puts the same
		// key (Kafka's murmur2), so a tombstone replaces its record.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
		kgo.ProducerBatchMaxBytes(topics.RegulationsMaxBytes),
		kgo.ProducerBatchCompression(kgo.ZstdCompression(), kgo.NoCompression()),
		// A suppression's answer waits for this batch: do not linger.
		kgo.ProducerLinger(time.Millisecond),
		kgo.RecordDeliveryTimeout(max(cfg.ProduceTimeout, time.Second)), // franz-go's floor
	}, cfg.ClientOpts...)
	prod, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("regulator: %w", err)
	}
	names := cfg.Topics
	st, err := newStore(names.Of(topics.Regulations), prod, cfg.Brokers, cfg.ClientOpts, cfg.Logger)
	if err != nil {
		prod.Close()
		return nil, err
	}
	st.erased = cfg.Erased
	s := &Service{cfg: cfg, names: names, prod: prod, adm: kadm.NewClient(prod), store: st, log: cfg.Logger}
	runCtx, stop := context.WithCancel(context.Background()) // the Service's lifetime, ended by Close
	s.stop = stop
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		_ = st.follower.Run(runCtx)
	}()
	return s, nil
}

// Close stops following and releases the connections; call it after Run
// has returned.
func (s *Service) Close() {
	s.stop()
	s.done.Wait()
	s.prod.Close()
}

// Ready waits until every regulation written before the call is known.
func (s *Service) Ready(ctx context.Context) error { return s.store.catchUp(ctx) }

// Get returns a regulation by id. An id not known yet is looked for again
// after catching up with the topic (it may have been filed elsewhere).
func (s *Service) Get(ctx context.Context, id string) (*Regulation, bool, error) {
	if r, ok := s.store.get(id); ok && r.Workspace == s.cfg.Workspace {
		return r.clone(), true, nil
	}
	if err := s.store.catchUp(ctx); err != nil {
		return nil, false, err
	}
	r, ok := s.store.get(id)
	if !ok || r.Workspace != s.cfg.Workspace {
		return nil, false, nil
	}
	return r.clone(), true, nil
}

// List returns the regulations with the given status (all when empty),
// newest first, at most limit of them.
func (s *Service) List(status Status, limit int) []Summary {
	regs := s.store.list(func(r *Regulation) bool {
		return r.Workspace == s.cfg.Workspace && (status == "" || r.OverallStatus == status)
	})
	if limit > 0 && len(regs) > limit {
		regs = regs[:limit]
	}
	out := make([]Summary, len(regs))
	for i, r := range regs {
		out[i] = r.Summary()
	}
	return out
}
