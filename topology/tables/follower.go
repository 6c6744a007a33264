// Package tables follows sluice's compacted topics (suppressions, consent,
// identities, tracking plans) into in-memory tables, and tells when those
// tables have caught up to a point in the topics. It is the mechanism behind
// DESIGN guarantee 2 (tables before traffic) and the sinks' suppression barrier.
package tables

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Handler applies one record of a compacted topic to a table. A nil value is a
// tombstone: the key is deleted. Handlers run on the follower's goroutine, one
// record at a time, in offset order per partition.
type Handler func(key, value []byte)

// Follower reads compacted topics from their start and keeps following them.
type Follower struct {
	cl       *kgo.Client
	adm      *kadm.Client
	topics   []string
	handlers map[string]Handler

	mu       sync.Mutex
	next     map[string]map[int32]int64 // next offset to apply, per partition
	progress chan struct{}              // closed and replaced whenever next advances
	ready    bool
}

// New returns a follower of the topics in handlers, bootstrapping from seeds.
// Extra client options (TLS, SASL) may be passed in opts.
func New(seeds []string, handlers map[string]Handler, opts ...kgo.Opt) (*Follower, error) {
	if len(handlers) == 0 {
		return nil, errors.New("tables: no topics to follow")
	}
	var topics []string
	for t := range handlers {
		topics = append(topics, t)
	}
	base := []kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers count as progress: without them a table written
		// transactionally could never reach the end offset.
		kgo.KeepControlRecords(),
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("tables: %w", err)
	}
	return &Follower{
		cl:       cl,
		adm:      kadm.NewClient(cl),
		topics:   topics,
		handlers: handlers,
		next:     map[string]map[int32]int64{},
		progress: make(chan struct{}),
	}, nil
}

// Run applies records until ctx is done, then closes the client.
func (f *Follower) Run(ctx context.Context) error {
	defer f.cl.Close()
	for {
		fs := f.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		// Fetch errors are retried inside the client; only records move tables.
		fs.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			h := f.handlers[p.Topic]
			for _, r := range p.Records {
				if !r.Attrs.IsControl() {
					h(r.Key, r.Value)
				}
			}
			f.advance(p.Topic, p.Partition, p.Records[len(p.Records)-1].Offset+1)
		})
	}
}

func (f *Follower) advance(topic string, partition int32, next int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := f.next[topic]
	if parts == nil {
		parts = map[int32]int64{}
		f.next[topic] = parts
	}
	parts[partition] = next
	close(f.progress)
	f.progress = make(chan struct{})
}

// EndOffsets lists the read-committed end offsets of the followed topics now.
func (f *Follower) EndOffsets(ctx context.Context) (kadm.ListedOffsets, error) {
	ends, err := f.adm.ListCommittedOffsets(ctx, f.topics...)
	if err != nil {
		return nil, fmt.Errorf("tables: list end offsets: %w", err)
	}
	if err := ends.Error(); err != nil {
		return nil, fmt.Errorf("tables: list end offsets: %w", err)
	}
	return ends, nil
}

// WaitFor blocks until every record before ends has been applied, or ctx ends.
func (f *Follower) WaitFor(ctx context.Context, ends kadm.ListedOffsets) error {
	for {
		f.mu.Lock()
		behind := false
		ends.Each(func(o kadm.ListedOffset) {
			if o.Offset > f.next[o.Topic][o.Partition] {
				behind = true
			}
		})
		progress := f.progress
		f.mu.Unlock()
		if !behind {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return fmt.Errorf("tables: waiting to catch up: %w", context.Cause(ctx))
		}
	}
}

// CatchUp waits until every record committed to the followed topics before the
// call has been applied. After the first success Ready reports true.
func (f *Follower) CatchUp(ctx context.Context) error {
	ends, err := f.EndOffsets(ctx)
	if err != nil {
		return err
	}
	if err := f.WaitFor(ctx, ends); err != nil {
		return err
	}
	f.mu.Lock()
	f.ready = true
	f.mu.Unlock()
	return nil
}

// Ready reports whether the tables have caught up at least once.
func (f *Follower) Ready() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ready
}
