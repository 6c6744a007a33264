package topology

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
)

// A kafka destination that names no brokers produces to the cluster sluice
// runs on, as in DESIGN's example configuration.
func TestKafkaDestinationWithoutBrokersUsesOwnCluster(t *testing.T) {
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(t.Context(), 1, 1, nil, "analytics.events"); err != nil {
		t.Fatal(err)
	}
	dest := config.Destination{Name: "stream", Type: config.DestinationKafka, Settings: map[string]any{"topic": "analytics.events"}}
	sink, err := openSink(t.Context(), dest, sinkEnv{conn: cluster.Plain(b.Addr())})
	if err != nil {
		t.Fatalf("openSink: %v", err)
	}
	sink.Close(t.Context())
}
