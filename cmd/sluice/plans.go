package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/topology/planstore"
)

// plansFlags are the flags every `sluice plans` subcommand shares.
type plansFlags struct {
	brokers     []string
	topicPrefix string
	timeout     time.Duration
}

func (f *plansFlags) store() (*planstore.Store, error) {
	return planstore.New(planstore.Config{Brokers: f.brokers, TopicPrefix: f.topicPrefix})
}

func (f *plansFlags) ctx(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), f.timeout)
}

// newPlansCmd is `sluice plans`: check, diff, publish, list and show
// tracking plans (docs/tracking-plans.md).
func newPlansCmd() *cobra.Command {
	f := &plansFlags{}
	cmd := &cobra.Command{
		Use:   "plans",
		Short: "Check, review and publish tracking plans",
		Long: `plans works on tracking plans: directories holding plan.yaml and Avro schemas
(.avsc). The workflow is check → diff → publish: check validates a plan offline,
diff compares it with the published version, publish writes it as the next
version to the compacted <prefix>tracking-plans topic, where routers pick it up
without a restart.`,
	}
	pf := cmd.PersistentFlags()
	pf.StringSliceVar(&f.brokers, "brokers", []string{"127.0.0.1:9092"}, "Kafka seed brokers, comma-separated")
	pf.StringVar(&f.topicPrefix, "topic-prefix", "sluice.", "prefix of sluice's topic names")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on the broker after this long")
	cmd.AddCommand(newPlansCheckCmd(), newPlansDiffCmd(f), newPlansPublishCmd(f), newPlansListCmd(f), newPlansShowCmd(f))
	return cmd
}

// loadPlan checks a plan directory, printing every problem to w.
func loadPlan(w io.Writer, dir string) (*plan.Plan, error) {
	p, err := plan.CheckDir(dir)
	if err == nil {
		return p, nil
	}
	problems := plan.AsErrors(err)
	if problems == nil {
		return nil, err
	}
	for _, e := range problems {
		shown := *e
		shown.File = filepath.Join(dir, e.File)
		fmt.Fprintln(w, shown.Error())
	}
	return nil, fmt.Errorf("plan %s does not check: %d problem%s", dir, len(problems), plural(len(problems)))
}

func newPlansCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check DIR",
		Short: "Check a plan offline: manifest, valid Avro, references, defaults",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPlan(cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "ok: plan %s, %d schema%s, %s\n", p.Name(), len(p.Schemas), plural(len(p.Schemas)), p.Hash)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			for _, s := range p.Schemas {
				fmt.Fprintf(tw, "  %s\t%s\t%d fields\n", s.Target(), s.File, len(s.Root.Fields))
			}
			return tw.Flush()
		},
	}
}

func newPlansDiffCmd(f *plansFlags) *cobra.Command {
	var asJSON bool
	var compat string
	cmd := &cobra.Command{
		Use:   "diff DIR",
		Short: "Show what a plan changes against its published version, and whether it may be published",
		Long: `diff compares the plan in DIR with the latest published version of the same
plan: events, versions and fields added or removed, types changed, fields made
optional or required. It exits non-zero when the plan does not check or is
incompatible with the published version.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := compatFlag(compat)
			if err != nil {
				return err
			}
			p, err := loadPlan(cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			s, err := f.store()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := f.ctx(cmd)
			defer cancel()
			res, err := s.Compare(ctx, p, mode)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				writeDiff(out, res)
			}
			if !res.Verdict.Compatible {
				return fmt.Errorf("plan %s is incompatible with published version %d", p.Name(), res.Previous)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the changes and verdict as JSON")
	cmd.Flags().StringVar(&compat, "compat", "", "judge every schema with this mode: BACKWARD, FORWARD, FULL or NONE (default: the manifest's)")
	return cmd
}

func writeDiff(w io.Writer, res *planstore.PublishResult) {
	if res.Previous == 0 {
		fmt.Fprintf(w, "plan %s (%s): nothing published yet\n", res.Plan, res.Hash)
	} else {
		fmt.Fprintf(w, "plan %s (%s) against published version %d\n", res.Plan, res.Hash, res.Previous)
	}
	if res.Unchanged {
		fmt.Fprintf(w, "unchanged: equal to published version %d\n", res.Version)
		return
	}
	io.WriteString(w, res.Changes.Text())
	io.WriteString(w, res.Verdict.Text())
}

func newPlansPublishCmd(f *plansFlags) *cobra.Command {
	var author, compat string
	cmd := &cobra.Command{
		Use:   "publish DIR",
		Short: "Publish a plan as its next version, if compatible with the published one",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			mode, err := compatFlag(compat)
			if err != nil {
				return err
			}
			p, err := loadPlan(cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			s, err := f.store()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := f.ctx(cmd)
			defer cancel()
			if err := s.EnsureTopic(ctx); err != nil {
				return err
			}
			res, err := s.Publish(ctx, p, planstore.PublishOptions{Author: author, Compatibility: mode})
			var inc *planstore.IncompatibleError
			if errors.As(err, &inc) {
				writeDiff(cmd.ErrOrStderr(), res)
				return fmt.Errorf("plan %s not published: incompatible with published version %d", p.Name(), inc.Previous)
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if res.Unchanged {
				fmt.Fprintf(out, "unchanged: plan %s version %d already has this content (%s)\n", p.Name(), res.Version, p.Hash)
				return nil
			}
			io.WriteString(out, res.Changes.Text())
			fmt.Fprintf(out, "published plan %s version %d (%s) by %s\n", p.Name(), res.Version, p.Hash, res.Document.Author)
			return nil
		},
	}
	cmd.Flags().StringVar(&author, "author", defaultAuthor(), "who publishes, recorded in the version")
	cmd.Flags().StringVar(&compat, "compat", "", "judge every schema with this mode: BACKWARD, FORWARD, FULL or NONE (default: the manifest's)")
	return cmd
}

func newPlansListCmd(f *plansFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List published plans",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.store()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := f.ctx(cmd)
			defer cancel()
			plans, err := s.List(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PLAN\tLATEST\tVERSIONS\tAUTHOR\tPUBLISHED\tHASH")
			for _, p := range plans {
				vs := make([]string, len(p.Versions))
				for i, v := range p.Versions {
					vs[i] = strconv.Itoa(v)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", p.Plan, p.Latest, strings.Join(vs, ","), p.Author, p.PublishedAt.Format(time.RFC3339), p.Hash)
			}
			return tw.Flush()
		},
	}
}

func newPlansShowCmd(f *plansFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show PLAN [VERSION]",
		Short: "Print a published plan version (default: the latest) as its JSON document",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			version := 0
			if len(args) == 2 {
				v, err := strconv.Atoi(args[1])
				if err != nil || v < 1 {
					return fmt.Errorf("VERSION %q: want an integer of at least 1", args[1])
				}
				version = v
			}
			s, err := f.store()
			if err != nil {
				return err
			}
			defer s.Close()
			ctx, cancel := f.ctx(cmd)
			defer cancel()
			doc, err := s.Show(ctx, args[0], version)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(doc)
		},
	}
}

// compatFlag parses --compat; empty keeps the manifest's modes.
func compatFlag(s string) (plan.Compatibility, error) {
	if s == "" {
		return "", nil
	}
	c, ok := plan.ParseCompatibility(s)
	if !ok {
		return "", fmt.Errorf("--compat %q: want BACKWARD, FORWARD, FULL or NONE", s)
	}
	return c, nil
}

// defaultAuthor is $SLUICE_AUTHOR, else the login name, else "unknown".
func defaultAuthor() string {
	if a := os.Getenv("SLUICE_AUTHOR"); a != "" {
		return a
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return "unknown"
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
