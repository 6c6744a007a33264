package topology

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// A router started with the Instance of a crashed one aborts the transaction
// the crashed one left open: its records stop holding back the read-committed
// readers of dest.*, without waiting for the broker's transaction timeout.
func TestRestartedInstanceAbortsItsOpenTransaction(t *testing.T) {
	b := broker.ForTest(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	ws := config.Config{
		Workspace:    "acme",
		Encryption:   config.Encryption{Disabled: true},
		Sources:      []config.Source{{Name: "web", WriteKey: "wk_inst"}},
		Destinations: []config.Destination{{Name: "crm", Type: config.DestinationWebhook, Settings: map[string]any{"url": "http://127.0.0.1:1/hook"}}},
	}.WithDefaults()
	admCl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	if _, err := topics.Apply(ctx, adm, topics.ForConfig(ws)); err != nil {
		t.Fatal(err)
	}
	dest := topics.Names{Prefix: ws.TopicPrefix}.Destination("crm")

	// The crashed router: a transaction with one record, never ended.
	crashed, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID(routerTransactionalIDPrefix+"r1"),
		kgo.TransactionTimeout(10*time.Minute), kgo.DefaultProduceTopic(dest), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.Close()
	if err := crashed.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := crashed.ProduceSync(ctx, &kgo.Record{Key: []byte("acme/u1"), Value: []byte(`{}`), Partition: 0}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	open, err := unstable(ctx, adm, dest)
	for err != nil && ctx.Err() == nil { // a new topic: metadata may lag
		time.Sleep(50 * time.Millisecond)
		open, err = unstable(ctx, adm, dest)
	}
	if open == 0 {
		t.Fatal("the open transaction does not hold back the last stable offset")
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- Run(runCtx, Config{Cluster: cluster.Plain(b.Addr()), Workspace: ws, Roles: []Role{RoleRouter}, Instance: "r1"}, nil)
	}()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for open > 0 {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("Run stopped: %v", err)
		case <-ctx.Done():
			t.Fatal("the crashed router's transaction is still open")
		case <-time.After(100 * time.Millisecond):
		}
		if open, err = unstable(ctx, adm, dest); err != nil {
			t.Fatal(err)
		}
	}
	if err := crashed.EndTransaction(ctx, kgo.TryCommit); err == nil {
		t.Fatal("the crashed router committed after its successor started")
	}
}

// unstable is how many records of topic are not yet stable: written in a
// transaction still open.
func unstable(ctx context.Context, adm *kadm.Client, topic string) (int64, error) {
	end, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = end.Error()
	}
	if err != nil {
		return 0, err
	}
	stable, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = stable.Error()
	}
	if err != nil {
		return 0, err
	}
	var n int64
	end.Each(func(o kadm.ListedOffset) {
		if s, ok := stable.Lookup(o.Topic, o.Partition); ok {
			n += o.Offset - s.Offset
		}
	})
	return n, nil
}
