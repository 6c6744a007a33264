package planstore

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/schemas/plan"
)

// verdict validates {"v": "text"} as event E of plan shop.
func verdict(v *validate.Validator) (validate.Outcome, int) {
	var r validate.Result
	if err := v.Validate(validate.Input{Plan: "shop", Type: "track", Event: "E", Properties: []byte(`{"v":"text"}`)}, &r); err != nil {
		panic(err)
	}
	return r.Outcome, r.PlanVersion
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestReaderFeedsValidator: a running validator changes its verdict when a
// new plan version is published, and falls back when it is withdrawn.
func TestReaderFeedsValidator(t *testing.T) {
	b, cfg := startBroker(t)
	s := newStore(t, cfg)
	ctx := ctxT(t)

	// Published before the reader starts: installed before Ready.
	if _, err := s.Publish(ctx, testPlan(t, `"int"`), PublishOptions{Author: "ana"}); err != nil {
		t.Fatal(err)
	}
	v := validate.New()
	r, err := NewReader(cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ready() || r.Check() == nil {
		t.Fatal("ready before running")
	}
	if o, _ := verdict(v); o != validate.Blocked {
		t.Fatalf("before ready the plan must fail closed, got %v", o)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(runCtx) }()
	if err := r.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if o, pv := verdict(v); o != validate.Blocked || pv != 1 {
		t.Fatalf("v1 must block a string: %v v%d", o, pv)
	}

	// A new version takes effect without restarting anything.
	if _, err := s.Publish(ctx, testPlan(t, `"string"`), PublishOptions{Author: "ana", Compatibility: plan.None}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "version 2 to pass the event", func() bool { o, pv := verdict(v); return o == validate.Pass && pv == 2 })

	// Withdrawing version 2 (a tombstone) falls back to version 1.
	if err := s.cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topic(), Key: []byte(plan.Key("shop", 2))}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the fallback to version 1", func() bool { o, pv := verdict(v); return o == validate.Blocked && pv == 1 })

	// Garbage on the topic is skipped, not fatal.
	if err := s.cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topic(), Key: []byte("shop/7"), Value: []byte("{not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}

	stop()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}

	// A fresh reader after compaction sees the same state.
	b.Compact()
	v2 := validate.New()
	r2, _ := NewReader(cfg, v2)
	go r2.Run(ctx)
	if err := r2.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	if o, pv := verdict(v2); o != validate.Blocked || pv != 1 {
		t.Fatalf("after compaction: %v v%d", o, pv)
	}
}

// TestReaderEmptyTopic: no topic yet means no plans, and ready.
func TestReaderEmptyTopic(t *testing.T) {
	b, _ := startBroker(t)
	r, err := NewReader(Config{Brokers: []string{b.Addr()}, TopicPrefix: "none."}, validate.New())
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	go r.Run(ctx)
	if err := r.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestReaderNotReadyWithoutBroker: an unreachable broker keeps it not ready.
func TestReaderNotReadyWithoutBroker(t *testing.T) {
	r, err := NewReader(Config{Brokers: []string{"127.0.0.1:1"}}, validate.New())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	go r.Run(ctx)
	if err := r.WaitReady(ctx); err == nil {
		t.Fatal("ready without a broker")
	}
}

// The dev broker's cleaner ends partitions with a transaction marker; a
// partition whose last record is one is still read to its end, by a reader
// (ready, plan installed) and by the store (listing).
func TestPartitionsEndingWithAMarkerAreReadToTheEnd(t *testing.T) {
	b, cfg := startBroker(t)
	s := newStore(t, cfg)
	ctx := ctxT(t)
	if _, err := s.Publish(ctx, testPlan(t, `"int"`), PublishOptions{Author: "ana"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Clean(ctx); err != nil { // a commit marker after the plan
		t.Fatal(err)
	}
	v := validate.New()
	r, err := NewReader(cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	go r.Run(ctx)
	if err := r.WaitReady(ctx); err != nil {
		t.Fatalf("the reader never reached the marker: %v", err)
	}
	if o, pv := verdict(v); o != validate.Blocked || pv != 1 {
		t.Fatalf("after the marker: %v v%d", o, pv)
	}
	list, err := newStore(t, cfg).List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %v %v", list, err)
	}
}
