package router_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// failEvery makes every nth transactional request of a kind fail with a
// retryable error, for the life of the test.
func (e *env) failEvery(n int64, key int16, fail func(kmsg.Request) kmsg.Response) *atomic.Int64 {
	var seen, failed atomic.Int64
	c := e.b.Cluster()
	c.ControlKey(key, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if p, ok := req.(*kmsg.ProduceRequest); ok && p.TransactionID == nil {
			return nil, nil, false // the test's own producer
		}
		if seen.Add(1)%n != 0 {
			return nil, nil, false
		}
		failed.Add(1)
		return fail(req), nil, true
	})
	return &failed
}

func produceError(req kmsg.Request) kmsg.Response {
	r := req.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	for _, t := range r.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = t.Topic
		rt.TopicID = t.TopicID // Produce v13+ names topics by id
		for _, p := range t.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = kerr.NotEnoughReplicas.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

func endTxnError(req kmsg.Request) kmsg.Response {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
	return resp
}

// Produce requests and transaction ends that fail now and then are retried
// without losing or doubling an event.
func TestBrokerFaultsNoLossNoDuplicates(t *testing.T) {
	e := newEnv(t)
	const total = 60
	produceFaults := e.failEvery(3, int16(kmsg.Produce), produceError)
	endFaults := e.failEvery(2, int16(kmsg.EndTxn), endTxnError)
	// Retry quickly: the faults are many and the backoff is not under test.
	e.startRouter(t, kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
	e.sendRounds(t, 0, total, nil)
	got := e.readDest(t, map[string]int{"stream": users * total})
	for _, d := range e.dst {
		checkExactlyOnceInOrder(t, d, got[d], "", total, total)
	}
	e.checkProfiles(t, total)
	if produceFaults.Load() == 0 || endFaults.Load() == 0 {
		t.Fatalf("faults injected: %d produce, %d end transaction; want some of each", produceFaults.Load(), endFaults.Load())
	}
}
