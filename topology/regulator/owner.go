package regulator

import (
	"context"
	"fmt"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// owner tells which regulations this regulator carries out. Regulators join
// one consumer group on the regulations topic without consuming from it: the
// group splits the partitions among them, and a regulation belongs to whoever
// holds its record's partition. A regulator alone (OwnerGroup "-") owns all.
type owner struct {
	topic string
	cl    *kgo.Client // nil when alone

	mu         sync.Mutex
	owned      map[int32]bool
	partitions int           // partition count of the topic
	stale      bool          // the assignment changed: re-read the partition count
	changed    chan struct{} // closed and replaced when the assignment changes
}

func (s *Service) newOwner() (*owner, error) {
	o := &owner{topic: s.store.topic, owned: map[int32]bool{}, stale: true, changed: make(chan struct{})}
	if s.cfg.OwnerGroup == "-" {
		return o, nil
	}
	add := func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, p := range m[o.topic] {
			o.owned[p] = true
		}
		o.signal()
	}
	remove := func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, p := range m[o.topic] {
			delete(o.owned, p)
		}
		o.signal()
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Brokers...),
		kgo.ConsumerGroup(s.cfg.OwnerGroup),
		kgo.ConsumeTopics(o.topic),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(add),
		kgo.OnPartitionsRevoked(remove),
		kgo.OnPartitionsLost(remove),
	}, s.cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("regulator: %w", err)
	}
	// Membership is all the group is for: the store follows the topic.
	cl.PauseFetchTopics(o.topic)
	o.cl = cl
	return o, nil
}

// signal marks the assignment changed; o.mu is held.
func (o *owner) signal() {
	o.stale = true
	close(o.changed)
	o.changed = make(chan struct{})
}

// changes returns a channel closed at the next change of assignment.
func (o *owner) changes() <-chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.changed
}

// close leaves the group, handing this regulator's regulations to the others.
func (o *owner) close() {
	if o.cl != nil {
		o.cl.Close()
	}
}

// refresh re-reads the topic's partition count when the assignment changed.
func (o *owner) refresh(ctx context.Context, s *Service) error {
	o.mu.Lock()
	stale := o.stale || o.partitions == 0
	o.mu.Unlock()
	if !stale {
		return nil
	}
	n, err := s.partitionCount(ctx, o.topic)
	if err != nil {
		return err
	}
	o.mu.Lock()
	o.partitions, o.stale = n, false
	o.mu.Unlock()
	return nil
}

// owns reports whether this regulator carries out the regulation id.
func (o *owner) owns(id string) bool {
	if o.cl == nil {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.partitions == 0 {
		return false
	}
	return o.owned[partitionOf(o.topic, []byte(id), o.partitions)]
}

// count returns how many partitions this regulator owns.
func (o *owner) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.owned)
}
