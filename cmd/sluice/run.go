package main

import (
	"fmt"
	"net"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/topology"
	"github.com/sluicehq/sluice/topology/api"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
)

func newRunCmd() *cobra.Command {
	var (
		configPath  string
		roles       string
		apiAddr     string
		metricsAddr string
		brokers     []string
		shutdown    time.Duration
		logLevel    string
		token       adminTokenFlags
		apiOpts     apiFlags
		maxConns    int
		instance    string
	)
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run roles against a Kafka-protocol cluster and ClickHouse servers (production)",
		Long: `Run the chosen roles in one process against the cluster the config's kafka
section names and the ClickHouse servers its destinations name. Run as many
processes of each role as the load needs: they share the work as Kafka
consumer groups do. Every role refuses to start when a topic it uses is
missing or has the wrong cleanup policy: create them with 'sluice topics apply'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(logLevel)
			if err != nil {
				return err
			}
			ws, err := config.Load(configPath)
			if err != nil {
				return err
			}
			if len(brokers) > 0 {
				ws.Kafka.Brokers = brokers
			}
			conn, err := cluster.FromConfig(ws.Kafka)
			if err != nil {
				return fmt.Errorf("config: %w", err)
			}
			cfg := topology.Config{Cluster: conn, Workspace: ws, ShutdownTimeout: shutdown, Logger: log, PublicURL: apiOpts.publicURL,
				APIMaxConnections: maxConns, Instance: instance}
			if cfg.TrustedProxies, err = apiOpts.proxies(); err != nil {
				return err
			}
			if cfg.Roles, err = topology.ParseRoles(roles); err != nil {
				return err
			}
			if slices.Contains(cfg.Roles, topology.RoleAPI) {
				if cfg.AdminToken, err = token.resolve(); err != nil {
					return err
				}
				if cfg.APIListener, err = net.Listen("tcp", apiAddr); err != nil {
					return fmt.Errorf("--api-addr: %w", err)
				}
			}
			if metricsAddr != "" {
				if cfg.MetricsListener, err = net.Listen("tcp", metricsAddr); err != nil {
					return fmt.Errorf("--metrics-addr: %w", err)
				}
			}
			return topology.Run(cmd.Context(), cfg, func() {
				line := "sluice run ready: roles " + rolesString(cfg.Roles)
				if cfg.APIListener != nil {
					line += "  api http://" + cfg.APIListener.Addr().String()
				}
				if cfg.MetricsListener != nil {
					line += "  metrics http://" + cfg.MetricsListener.Addr().String()
				}
				fmt.Fprintln(cmd.OutOrStdout(), line)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "sluice.yaml", "workspace config with a kafka section")
	f.StringVar(&roles, "roles", "all", "roles to run: a comma-separated subset of api,router,sink,regulator, or all")
	f.StringVar(&apiAddr, "api-addr", "0.0.0.0:8088", "tracking and admin API address (api role)")
	f.IntVar(&maxConns, "api-max-connections", api.DefaultMaxConnections, "connections the API holds open at once; more wait in the accept queue (api role)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "address serving /metrics, /healthz and /readyz for every role of the process (default: none)")
	f.StringSliceVar(&brokers, "brokers", nil, "seed brokers, overriding the config's kafka.brokers")
	f.StringVar(&instance, "instance", "", "this process's name among the copies of its roles, kept across its restarts and unique among running ones (e.g. a StatefulSet pod name): a restarted router then aborts its predecessor's open transaction at once; not with the embedded broker of sluice dev (default: random per start)")
	f.DurationVar(&shutdown, "shutdown-timeout", topology.DefaultShutdownTimeout, "how long roles may drain, flush and commit after SIGTERM")
	token.register(f, "none: the admin API takes personal tokens only (sluice tokens create)")
	apiOpts.register(f)
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return cmd
}
