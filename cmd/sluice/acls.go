package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// newTopicsACLsCmd is `sluice topics acls`: the least-privilege ACLs of a
// workspace, printed as kafka-acls.sh commands or created with --apply.
func newTopicsACLsCmd(f *topicsFlags) *cobra.Command {
	var (
		p     topics.Principals
		apply bool
	)
	cmd := &cobra.Command{
		Use:   "acls",
		Short: "Print (or --apply) the least-privilege Kafka ACLs of each role",
		Long: `acls prints the Kafka ACLs that let each role do exactly what it does, one
kafka-acls.sh command per rule: which topics it reads and writes, its consumer
group, its transactional ids. With --apply it creates them through the
cluster's admin API (the connecting principal needs Alter on the cluster).
Connect each role as its own principal for them to take effect.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !apply {
				cfg := config.Config{}.WithDefaults()
				if f.configPath != "" {
					c, err := config.Load(f.configPath)
					if err != nil {
						return err
					}
					cfg = c
				}
				for _, a := range topics.ACLs(cfg, p) {
					fmt.Fprintln(cmd.OutOrStdout(), a.Command())
				}
				return nil
			}
			return f.withAdmin(cmd, func(ctx context.Context, cfg config.Config, adm *kadm.Client) error {
				acls := topics.ACLs(cfg, p)
				if err := topics.ApplyACLs(ctx, adm, acls); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d ACLs created or already present\n", len(acls))
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&p.API, "api-principal", "User:sluice-api", "principal of the api role")
	fl.StringVar(&p.Router, "router-principal", "User:sluice-router", "principal of the router role")
	fl.StringVar(&p.Sink, "sink-principal", "User:sluice-sink", "principal of the sink role")
	fl.StringVar(&p.Regulator, "regulator-principal", "User:sluice-regulator", "principal of the regulator role")
	fl.StringVar(&p.Admin, "admin-principal", "User:sluice-admin", "principal of the admin CLI (sluice tokens, sluice audit)")
	fl.BoolVar(&apply, "apply", false, "create the ACLs on the cluster instead of printing them")
	return cmd
}
