package planstore

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/testenv/broker"
)

// testPlan is plan "shop" with event E v1 whose field v has the given type.
func testPlan(t *testing.T, vType string, extra ...string) *plan.Plan {
	t.Helper()
	fields := `{"name":"v","type":` + vType + `}`
	for _, e := range extra {
		fields += "," + e
	}
	p, err := plan.Check(plan.Files{
		"plan.yaml": []byte("name: shop\nowners: [data@shop.example]\npolicy: {typeViolations: block}\nevents:\n  E:\n    versions: {1: e.avsc}\n"),
		"e.avsc":    []byte(`{"type":"record","name":"E","fields":[` + fields + `]}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// startBroker starts an embedded broker and creates the compacted topic with
// several partitions, as sluice does, so most stay empty.
func startBroker(t *testing.T) (*broker.Broker, Config) {
	t.Helper()
	b := broker.ForTest(t)
	cfg := Config{Brokers: []string{b.Addr()}, TopicPrefix: "test."}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	compact := "compact"
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, map[string]*string{"cleanup.policy": &compact}, cfg.Topic()); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	return b, cfg
}

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
