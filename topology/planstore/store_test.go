package planstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas/plan"
)

func TestPublishListShow(t *testing.T) {
	b, cfg := startBroker(t)
	s := newStore(t, cfg)
	ctx := ctxT(t)
	if err := s.EnsureTopic(ctx); err != nil {
		t.Fatalf("EnsureTopic on the existing compacted topic: %v", err)
	}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	opts := PublishOptions{Author: "ana", Now: func() time.Time { return at }}

	if _, err := s.Show(ctx, "shop", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Show before publishing: %v", err)
	}
	v1 := testPlan(t, `"int"`)
	res, err := s.Publish(ctx, v1, opts)
	if err != nil || !res.Published || res.Version != 1 || res.Previous != 0 {
		t.Fatalf("first publish: %+v %v", res, err)
	}

	// Unchanged: same hash, nothing written.
	res, err = s.Publish(ctx, testPlan(t, `"int"`), opts)
	if err != nil || res.Published || !res.Unchanged || res.Version != 1 {
		t.Fatalf("republish: %+v %v", res, err)
	}

	// Incompatible under BACKWARD: int → string, and a new required field.
	bad := testPlan(t, `"string"`, `{"name":"w","type":"long"}`)
	res, err = s.Publish(ctx, bad, opts)
	var inc *IncompatibleError
	if !errors.As(err, &inc) || !errors.Is(err, ErrIncompatible) || res.Published {
		t.Fatalf("incompatible publish: %+v %v", res, err)
	}
	if len(inc.Verdict.Problems) != 2 || !strings.Contains(err.Error(), "v: [backward]") || !strings.Contains(err.Error(), "w: [backward]") {
		t.Fatalf("problems do not name every field: %v", err)
	}

	// Dry run of a compatible change writes nothing.
	good := testPlan(t, `"long"`, `{"name":"w","type":["null","string"],"default":null}`)
	res, err = s.Publish(ctx, good, PublishOptions{DryRun: true})
	if err != nil || res.Published || !res.Verdict.Compatible || len(res.Changes) != 2 {
		t.Fatalf("dry run: %+v %v", res, err)
	}
	// Forced NONE lets the incompatible one through; then the compatible one.
	res, err = s.Publish(ctx, bad, PublishOptions{Author: "bo", Compatibility: plan.None, Now: opts.Now})
	if err != nil || res.Version != 2 {
		t.Fatalf("publish with NONE: %+v %v", res, err)
	}
	res, err = s.Publish(ctx, testPlan(t, `"string"`, `{"name":"w","type":"long"}`, `{"name":"x","type":"boolean","default":false}`), opts)
	if err != nil || res.Version != 3 {
		t.Fatalf("third publish: %+v %v", res, err)
	}

	b.Compact()
	list, err := s.List(ctx)
	if err != nil || len(list) != 1 {
		t.Fatalf("List: %+v %v", list, err)
	}
	if l := list[0]; l.Plan != "shop" || l.Latest != 3 || len(l.Versions) != 3 || l.Author != "ana" || !l.PublishedAt.Equal(at) {
		t.Fatalf("summary: %+v", l)
	}
	doc, err := s.Show(ctx, "shop", 2)
	if err != nil || doc.Version != 2 || doc.Author != "bo" || doc.Hash != bad.Hash {
		t.Fatalf("Show 2: %+v %v", doc, err)
	}
	if p, err := doc.Load(); err != nil || p.Hash != bad.Hash {
		t.Fatalf("the shown document does not load back: %v", err)
	}
	if _, err := s.Show(ctx, "shop", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Show 9: %v", err)
	}
}

func TestEnsureTopicRefusesDeletePolicy(t *testing.T) {
	b, _ := startBroker(t)
	s := newStore(t, Config{Brokers: []string{b.Addr()}, TopicPrefix: "other."})
	ctx := ctxT(t)
	if err := s.EnsureTopic(ctx); err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := s.EnsureTopic(ctx); err != nil {
		t.Fatalf("second call: %v", err)
	}
	if _, err := s.adm.CreateTopic(ctx, 1, 1, nil, "plain.tracking-plans"); err != nil {
		t.Fatal(err)
	}
	d := newStore(t, Config{Brokers: []string{b.Addr()}, TopicPrefix: "plain."})
	if err := d.EnsureTopic(ctx); err == nil || !strings.Contains(err.Error(), "cleanup.policy") {
		t.Fatalf("a deleting topic was accepted: %v", err)
	}
}
