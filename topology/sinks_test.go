package topology

import (
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/testenv/chlocal"
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

// The warehouse sink gets the workspace's retention: each source's own, the
// workspace's for every other source, as the TTL of its tables.
func TestWarehouseGetsTheWorkspaceRetention(t *testing.T) {
	ws, err := config.Parse([]byte(`
retention: 90d
sources:
  - {name: web, writeKey: k1, retention: 30d}
  - {name: ios, writeKey: k2}
`))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chlocal.Start(t.Context(), chlocal.Config{DataPath: t.TempDir(), Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dest := config.Destination{Name: "warehouse", Type: config.DestinationClickHouse,
		Settings: map[string]any{"database": "default", "compression": "none", "addr": srv.Addr()}}
	sink, err := openSink(t.Context(), dest, sinkEnv{retention: warehouseRetention(ws)})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(t.Context())
	conn, err := ch.Open(&ch.Options{Protocol: ch.HTTP, Addr: []string{srv.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var engine string
	if err := conn.QueryRow(t.Context(), "SELECT engine_full FROM system.tables WHERE database = 'default' AND name = 'tracks'").Scan(&engine); err != nil {
		t.Fatal(err)
	}
	const want = " TTL received_at + toIntervalDay(30) WHERE source IN ('web'), received_at + toIntervalDay(90) WHERE source NOT IN ('web') SETTINGS "
	if !strings.Contains(engine, want) {
		t.Errorf("tracks: %s\nwant it to contain %s", engine, want)
	}
}
