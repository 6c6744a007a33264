package clickhouse

import (
	"testing"

	"github.com/sluicehq/sluice/sinks/sinktest"
)

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New:      func(t *testing.T) sinktest.Destination { return newDest(t) },
		Reshaped: true,
	})
}

func TestConformanceStringColumns(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{
		New: func(t *testing.T) sinktest.Destination {
			return newDest(t, func(c *Config) { c.JSONColumns = JSONString })
		},
		Reshaped: true,
	})
}
