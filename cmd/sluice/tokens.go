package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/cluster"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// consoleFlags are the flags of the commands that work on the admin-tokens
// and audit topics directly, as the admin principal (`sluice tokens`,
// `sluice audit`).
type consoleFlags struct {
	configPath       string
	brokers          []string
	kafkaUser        string
	kafkaPasswordEnv string
	timeout          time.Duration
}

func (f *consoleFlags) register(fl *pflag.FlagSet) {
	fl.StringVar(&f.configPath, "config", "sluice.yaml", "workspace config; its kafka section says where the cluster is")
	fl.StringSliceVar(&f.brokers, "brokers", nil, "Kafka seed brokers, comma-separated (default: the config's kafka.brokers)")
	fl.StringVar(&f.kafkaUser, "kafka-user", "", "SASL user to connect as instead of the config's kafka.sasl.user: the admin principal (sluice-admin)")
	fl.StringVar(&f.kafkaPasswordEnv, "kafka-password-env", "", "environment variable holding --kafka-user's password (default: the config's kafka.sasl.passwordEnv)")
	fl.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on the broker after this long")
}

// open connects a console to the config's cluster.
func (f *consoleFlags) open() (*admin.Console, error) {
	cfg, err := config.Load(f.configPath)
	if err != nil {
		return nil, err
	}
	k := cfg.Kafka
	if len(f.brokers) > 0 {
		k.Brokers = f.brokers
	}
	if f.kafkaUser != "" {
		if k.SASL.Mechanism == "" {
			return nil, errors.New("--kafka-user: the config's kafka.sasl.mechanism is not set")
		}
		k.SASL.User = f.kafkaUser
	}
	if f.kafkaPasswordEnv != "" {
		k.SASL.PasswordEnv = f.kafkaPasswordEnv
	}
	conn, err := cluster.FromConfig(k)
	if err != nil {
		return nil, fmt.Errorf("%w (or pass --brokers)", err)
	}
	return admin.NewConsole(admin.ConsoleConfig{
		Brokers: conn.Seeds, ClientOpts: conn.Opts, Principal: k.SASL.User,
		Topics: topics.Names{Prefix: cfg.WithDefaults().TopicPrefix},
	})
}

// contextTimeout is the command's context, bounded by d.
func contextTimeout(cmd *cobra.Command, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), d)
}

// newTokensCmd is `sluice tokens`: personal admin tokens with roles.
func newTokensCmd() *cobra.Command {
	f := &consoleFlags{}
	cmd := &cobra.Command{
		Use:   "tokens",
		Short: "Create, list and revoke personal admin API tokens, each with one role",
		Long: `tokens manages the admin API's personal tokens. Each token belongs to one
holder (a person, by e-mail address) and has one role:

  privacy   file, read and list regulations; export a person's data
  schema    publish and read tracking plans
  operator  dead letters and topics
  viewer    read regulations and tracking plans (never export)

The tokens live, hashed, in the admin-tokens topic, which only the admin
principal may write; every creation and revocation is written to the audit
trail in the same transaction. API processes take a new token, or refuse a
revoked one, from the request after the command returns. See docs/admin.md.`,
	}
	f.register(cmd.PersistentFlags())
	cmd.AddCommand(newTokensCreateCmd(f), newTokensListCmd(f), newTokensRevokeCmd(f))
	return cmd
}

func newTokensCreateCmd(f *consoleFlags) *cobra.Command {
	var holder, role string
	cmd := &cobra.Command{
		Use:   "create --holder EMAIL --role ROLE",
		Short: "Create a token and print it, once: only its SHA-256 is kept",
		Long: `create prints the new token alone on stdout (so that it can be captured),
and its id, holder and role on stderr. It is not shown again: give it to its
holder over a channel fit for secrets.`,
		Example: `  sluice tokens create --config sluice.yaml --holder alice@acme.com --role privacy`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := admin.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			if err := admin.CheckHolder(holder); err != nil {
				return fmt.Errorf("--holder: %w", err)
			}
			c, err := f.open()
			if err != nil {
				return err
			}
			ctx, cancel := contextTimeout(cmd, f.timeout)
			defer cancel()
			token, t, err := c.CreateToken(ctx, holder, r)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), token)
			fmt.Fprintf(cmd.ErrOrStderr(), "created %s for %s, role %s; this is the only time the token is shown (revoke: sluice tokens revoke %s)\n",
				t.ID, t.Holder, t.Role, t.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&holder, "holder", "", "who the token is for, e.g. alice@acme.com (printable ASCII, no spaces)")
	cmd.Flags().StringVar(&role, "role", "", "the token's role: privacy, schema, operator or viewer")
	_ = cmd.MarkFlagRequired("holder")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTokensListCmd(f *consoleFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List every token (never the tokens themselves), revoked ones included",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.open()
			if err != nil {
				return err
			}
			ctx, cancel := contextTimeout(cmd, f.timeout)
			defer cancel()
			list, err := c.ListTokens(ctx)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				for _, t := range list {
					t.SHA256 = "" // not a secret, but of no use outside the topic
					if err := enc.Encode(t); err != nil {
						return err
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tHOLDER\tROLE\tCREATED\tBY\tREVOKED")
			for _, t := range list {
				revoked := "-"
				if t.RevokedAt != nil {
					revoked = t.RevokedAt.Format(time.RFC3339) + " by " + t.RevokedBy
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Holder, t.Role, t.CreatedAt.Format(time.RFC3339), t.CreatedBy, revoked)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per token")
	return cmd
}

func newTokensRevokeCmd(f *consoleFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token: every API process refuses it from the next request",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := strings.TrimSpace(args[0])
			c, err := f.open()
			if err != nil {
				return err
			}
			ctx, cancel := contextTimeout(cmd, f.timeout)
			defer cancel()
			t, err := c.RevokeToken(ctx, id)
			switch {
			case errors.Is(err, admin.ErrAlreadyRevoked):
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%s, %s) was already revoked at %s by %s\n",
					t.ID, t.Holder, t.Role, t.RevokedAt.Format(time.RFC3339), t.RevokedBy)
				return nil
			case err != nil:
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s, %s)\n", t.ID, t.Holder, t.Role)
			return nil
		},
	}
}
