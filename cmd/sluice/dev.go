package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/dev"
)

func newDevCmd() *cobra.Command {
	var (
		cfg        dev.Config
		configPath string
		roles      string
		logLevel   string
		token      adminTokenFlags
		apiOpts    apiFlags
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the local stack: an embedded Kafka, a local ClickHouse and every role in one process",
		Long: `Run the local stack: an embedded Kafka broker, a local ClickHouse engine and
every role in one process, with all state under --data-dir.

--roles none runs only the broker and the engine, so that roles can be tried
as separate 'sluice run' processes against them.`,
		Args: cobra.NoArgs,
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
			if cfg.Roles, err = topology.ParseRoles(roles); err != nil {
				return err
			}
			cfg.NoRoles = len(cfg.Roles) == 0
			cfg.PublicURL = apiOpts.publicURL
			if cfg.TrustedProxies, err = apiOpts.proxies(); err != nil {
				return err
			}
			if cfg.AdminToken, err = token.resolve(); err != nil {
				return err
			}
			return dev.Run(cmd.Context(), cfg, func(info dev.Info) {
				printReady(cmd, info)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", ".sluice", "state directory, kept across restarts")
	f.StringVar(&configPath, "config", "", "workspace config (sluice.yaml); default: one workspace and source")
	f.StringVar(&roles, "roles", "all", "roles to run: a comma-separated subset of api,router,sink,regulator, all, or none (only Kafka and ClickHouse)")
	token.register(f, "generated and kept in the data dir")
	apiOpts.register(f)
	f.StringVar(&cfg.APIAddr, "api-addr", "127.0.0.1:8088", "tracking and admin API address")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", "", "address serving /metrics, /healthz and /readyz for every role (default: none; the API serves its own)")
	f.StringVar(&cfg.KafkaAddr, "kafka-addr", "127.0.0.1:9092", "embedded Kafka broker address (loopback)")
	f.IntVar(&cfg.KafkaBrokers, "kafka-brokers", 1, "embedded Kafka brokers, listening on --kafka-addr's port and the ports after it")
	f.StringVar(&cfg.ClickHouseAddr, "clickhouse-addr", "127.0.0.1:8123", "local ClickHouse HTTP interface address")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}

// printReady prints the one line a newcomer needs, then the details.
func printReady(cmd *cobra.Command, info dev.Info) {
	out := cmd.OutOrStdout()
	api := info.API
	if api == "" {
		api = "(not running)"
	}
	fmt.Fprintf(out, "sluice dev ready: api %s  kafka %s  clickhouse %s (database %s)\n",
		api, info.Kafka, info.ClickHouse, info.Database)
	names := make([]string, 0, len(info.WriteKeys))
	for n := range info.WriteKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(out, "  write key (source %s): %s\n", n, info.WriteKeys[n])
	}
	fmt.Fprintf(out, "  admin token: %s\n", info.AdminToken)
	fmt.Fprintf(out, "  roles: %s\n", rolesString(info.Roles))
}

func rolesString(roles []topology.Role) string {
	if len(roles) == 0 {
		return "none"
	}
	s := ""
	for i, r := range roles {
		if i > 0 {
			s += ","
		}
		s += string(r)
	}
	return s
}
