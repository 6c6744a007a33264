package main

import (
	"fmt"
	"os"
	"sort"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/config"
)

func newDevCmd() *cobra.Command {
	var (
		cfg        topology.DevConfig
		configPath string
		logLevel   string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run every role in one process on an embedded Kafka and a local ClickHouse",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			cfg.Logger = log
			if configPath != "" {
				c, err := config.Load(configPath)
				if err != nil {
					return err
				}
				cfg.Config = &c
			}
			if cfg.AdminToken == "" {
				cfg.AdminToken = os.Getenv("SLUICE_ADMIN_TOKEN")
			}
			return topology.RunDev(cmd.Context(), cfg, func(info topology.DevInfo) {
				printReady(cmd, info)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", ".sluice", "state directory, kept across restarts")
	f.StringVar(&configPath, "config", "", "workspace config (sluice.yaml); default: one workspace and source")
	f.StringVar(&cfg.AdminToken, "admin-token", "", "admin API bearer token (default: $SLUICE_ADMIN_TOKEN, else generated and kept in the data dir)")
	f.StringVar(&cfg.APIAddr, "api-addr", "127.0.0.1:8088", "tracking and admin API address")
	f.StringVar(&cfg.KafkaAddr, "kafka-addr", "127.0.0.1:9092", "embedded Kafka broker address")
	f.StringVar(&cfg.ClickHouseAddr, "clickhouse-addr", "127.0.0.1:8123", "local ClickHouse HTTP interface address")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// printReady prints the one line a newcomer needs, then the details.
func printReady(cmd *cobra.Command, info topology.DevInfo) {
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "sluice dev ready: api %s  kafka %s  clickhouse %s (database %s)\n",
		info.API, info.Kafka, info.ClickHouse, info.Database)
	names := make([]string, 0, len(info.WriteKeys))
	for n := range info.WriteKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "  write key (source %s): %s\n", n, info.WriteKeys[n])
	}
	fmt.Fprintf(out, "  admin token: %s\n", info.AdminToken)
}
