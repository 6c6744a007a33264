package planstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/validate"
	"github.com/sluicehq/sluice/schemas/plan"
)

// until polls cond until it holds; only the test's context bounds the wait.
func until(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// wantPlan fails unless r answers version of plan shop with the plan of
// hash want, or answers nothing when want is "".
func wantPlan(t *testing.T, r *Reader, version int, want string) {
	t.Helper()
	p, ok := r.Plan("shop", version)
	switch {
	case want == "" && (ok || p != nil):
		t.Fatalf("shop v%d: got a plan (hash %s), want none", version, p.Hash)
	case want != "" && (!ok || p == nil):
		t.Fatalf("shop v%d: no plan, want hash %s", version, want)
	case want != "" && p.Hash != want:
		t.Fatalf("shop v%d: hash %s, want %s", version, p.Hash, want)
	}
}

// TestReaderPlanVersions: the reader answers every version it has read, not
// only the latest the validator holds, both while following the topic and
// after catching up from the start; nothing for versions not published or
// withdrawn.
func TestReaderPlanVersions(t *testing.T) {
	_, cfg := startBroker(t)
	s := newStore(t, cfg)
	ctx := t.Context()
	p1, p2 := testPlan(t, `"int"`), testPlan(t, `"string"`)

	if _, err := s.Publish(ctx, p1, PublishOptions{Author: "ana"}); err != nil {
		t.Fatal(err)
	}
	v := validate.New()
	r, err := NewReader(cfg, v)
	if err != nil {
		t.Fatal(err)
	}
	wantPlan(t, r, 1, "") // not read yet
	runCtx, stop := context.WithCancel(ctx)
	var running sync.WaitGroup
	defer func() { stop(); running.Wait() }()
	running.Go(func() { r.Run(runCtx) })
	if err := r.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	wantPlan(t, r, 1, p1.Hash)
	wantPlan(t, r, 2, "")

	// Lookups race with Run installing version 2 (for -race).
	var lookups sync.WaitGroup
	lookups.Go(func() {
		for runCtx.Err() == nil {
			for version := 1; version <= 3; version++ {
				r.Plan("shop", version)
			}
			if _, ok := r.Plan("shop", 2); ok {
				return
			}
		}
	})
	if _, err := s.Publish(ctx, p2, PublishOptions{Author: "ana", Compatibility: plan.None}); err != nil {
		t.Fatal(err)
	}
	until(ctx, t, "version 2 to be read", func() bool { _, ok := r.Plan("shop", 2); return ok })
	lookups.Wait()
	wantPlan(t, r, 1, p1.Hash) // replaced in the validator, still answered
	wantPlan(t, r, 2, p2.Hash)
	wantPlan(t, r, 3, "")
	if _, ok := r.Plan("other", 1); ok {
		t.Fatal("a plan never published was answered")
	}
	// The validator still holds the latest version only.
	if _, current, ok := v.Plan("shop"); !ok || current != 2 {
		t.Fatalf("validator holds shop v%d (%v), want v2", current, ok)
	}

	// A reader that starts now catches up to both versions.
	fresh, err := NewReader(cfg, validate.New())
	if err != nil {
		t.Fatal(err)
	}
	running.Go(func() { fresh.Run(runCtx) })
	if err := fresh.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	wantPlan(t, fresh, 1, p1.Hash)
	wantPlan(t, fresh, 2, p2.Hash)
	wantPlan(t, fresh, 3, "")

	// A withdrawn version is no longer answered; the others are.
	if err := s.cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topic(), Key: []byte(plan.Key("shop", 2))}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	until(ctx, t, "version 2 to be withdrawn", func() bool { _, ok := r.Plan("shop", 2); return !ok })
	wantPlan(t, r, 1, p1.Hash)
}
