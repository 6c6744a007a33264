package bench

import (
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// topicBytes counts what a client's produce batches put on the broker per
// topic (after batch compression): the bytes the broker stores, replicates
// and serves to every consumer. Use it as a kgo.WithHooks hook.
type topicBytes struct {
	mu      sync.Mutex
	bytes   map[string]int
	records map[string]int
}

func newTopicBytes() *topicBytes {
	return &topicBytes{bytes: map[string]int{}, records: map[string]int{}}
}

// OnProduceBatchWritten implements kgo.HookProduceBatchWritten.
func (c *topicBytes) OnProduceBatchWritten(_ kgo.BrokerMetadata, topic string, _ int32, m kgo.ProduceBatchMetrics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bytes[topic] += m.CompressedBytes
	c.records[topic] += m.NumRecords
}

// perRecord is the bytes per record written to the topics matching match,
// 0 when none was.
func (c *topicBytes) perRecord(match func(topic string) bool) float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b, n int
	for t, v := range c.bytes {
		if match(t) {
			b, n = b+v, n+c.records[t]
		}
	}
	if n == 0 {
		return 0
	}
	return float64(b) / float64(n)
}

// topicIs and topicHasPrefix are matches for perRecord.
func topicIs(name string) func(string) bool { return func(t string) bool { return t == name } }

func topicHasPrefix(prefix string) func(string) bool {
	return func(t string) bool { return strings.HasPrefix(t, prefix) }
}
