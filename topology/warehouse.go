package topology

import (
	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/regulator"
)

// openWarehouse opens sluice's own ClickHouse database, as a clickhouse
// destination's settings name it, for the regulations service.
func openWarehouse(d config.Destination) (*regulator.Warehouse, error) {
	cfg, err := clickhouse.FromSettings(d.Name, d.Settings)
	if err != nil {
		return nil, err
	}
	protocol := ch.HTTP
	if cfg.Protocol == clickhouse.ProtocolNative {
		protocol = ch.Native
	}
	conn, err := ch.Open(&ch.Options{Protocol: protocol, Addr: cfg.Addrs, Auth: ch.Auth{Database: cfg.Database, Username: cfg.Username, Password: cfg.Password}})
	if err != nil {
		return nil, err
	}
	return regulator.NewWarehouse(conn, cfg.Database), nil
}
