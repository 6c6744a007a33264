package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// topicsFlags are the flags every `sluice topics` subcommand shares.
type topicsFlags struct {
	configPath string
	brokers    []string
	timeout    time.Duration
}

// open loads the config and connects to its cluster (or --brokers).
func (f *topicsFlags) open() (config.Config, *kadm.Client, error) {
	var cfg config.Config
	if f.configPath != "" {
		c, err := config.Load(f.configPath)
		if err != nil {
			return cfg, nil, err
		}
		cfg = c
	} else {
		cfg = config.Config{}.WithDefaults()
	}
	if len(f.brokers) > 0 {
		cfg.Kafka.Brokers = f.brokers
	}
	conn, err := cluster.FromConfig(cfg.Kafka)
	if err != nil {
		return cfg, nil, fmt.Errorf("%w (or pass --brokers)", err)
	}
	cl, err := conn.NewClient()
	if err != nil {
		return cfg, nil, err
	}
	return cfg, kadm.NewClient(cl), nil
}

// withAdmin loads the config, connects, and calls fn with a context bounded
// by --timeout; the connection is closed when fn returns.
func (f *topicsFlags) withAdmin(cmd *cobra.Command, fn func(ctx context.Context, cfg config.Config, adm *kadm.Client) error) error {
	cfg, adm, err := f.open()
	if err != nil {
		return err
	}
	defer adm.Close()
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	return fn(ctx, cfg, adm)
}

// newTopicsCmd is `sluice topics`: plan and apply the topics a config needs.
func newTopicsCmd() *cobra.Command {
	f := &topicsFlags{}
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Plan and apply sluice's Kafka topics (partitions, replication, configs)",
		Long: `topics keeps sluice's Kafka topics as infrastructure. plan shows, one line per
topic, what apply would do: create a missing topic, alter configs that differ
from the config's topics section, or leave what apply never changes (adding
partitions moves keys; switching cleanup.policy between delete and compact is
a decision about the topic's data). apply does it. Every role refuses to start
on a missing topic or a wrong cleanup policy.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.configPath, "config", "", "workspace config (sluice.yaml); default: the built-in default config")
	pf.StringSliceVar(&f.brokers, "brokers", nil, "Kafka seed brokers, comma-separated (default: the config's kafka.brokers)")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on the broker after this long")
	cmd.AddCommand(newTopicsPlanCmd(f), newTopicsApplyCmd(f), newTopicsACLsCmd(f))
	return cmd
}

func newTopicsPlanCmd(f *topicsFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would do, one line per topic; changes nothing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withAdmin(cmd, func(ctx context.Context, cfg config.Config, adm *kadm.Client) error {
				steps, err := topics.Plan(ctx, adm, topics.ForConfig(cfg))
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if err := steps.WriteText(out, false); err != nil {
					return err
				}
				fmt.Fprintln(out, summary(steps, false))
				return nil
			})
		},
	}
}

func newTopicsApplyCmd(f *topicsFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "apply",
		Short: "Create missing topics and set differing configs; print what was done",
		Long: `apply creates missing topics with every config and sets the configs of
existing topics that differ. It never adds partitions, changes replication or
switches a cleanup policy: it reports those, and exits non-zero on a wrong
cleanup policy, which roles refuse to start on.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.withAdmin(cmd, func(ctx context.Context, cfg config.Config, adm *kadm.Client) error {
				steps, err := topics.Apply(ctx, adm, topics.ForConfig(cfg))
				if steps == nil && err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if werr := steps.WriteText(out, true); werr != nil {
					return errors.Join(err, werr)
				}
				fmt.Fprintln(out, summary(steps, true))
				return err
			})
		},
	}
}

// summary counts the steps, e.g. "9 topics: 2 to create, 7 ok".
func summary(steps topics.Steps, done bool) string {
	words := map[topics.Action]string{
		topics.Create: "to create", topics.Alter: "to alter", topics.Keep: "with differences apply leaves",
		topics.Refuse: "with a wrong cleanup policy", topics.OK: "ok",
	}
	if done {
		words[topics.Create], words[topics.Alter], words[topics.Keep] = "created", "altered", "left with differences"
		words[topics.Refuse] = "with a wrong cleanup policy, not changed"
	}
	counts := map[topics.Action]int{}
	failed := 0
	for _, st := range steps {
		if st.Err != nil {
			failed++
			continue
		}
		counts[st.Action]++
	}
	s := fmt.Sprintf("%d topic%s:", len(steps), plural(len(steps)))
	sep := " "
	for _, a := range []topics.Action{topics.Create, topics.Alter, topics.Keep, topics.Refuse, topics.OK} {
		if counts[a] > 0 {
			s += fmt.Sprintf("%s%d %s", sep, counts[a], words[a])
			sep = ", "
		}
	}
	if failed > 0 {
		s += fmt.Sprintf("%s%d failed", sep, failed)
	}
	return s
}
