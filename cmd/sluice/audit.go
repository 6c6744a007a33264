package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/config"
)

// newAuditCmd is `sluice audit`: the audit trail of admin actions.
func newAuditCmd() *cobra.Command {
	f := &consoleFlags{}
	var (
		filter admin.Filter
		since  string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "audit [--holder H] [--subject ID] [--regulation ID] [--since 24h]",
		Short: "Show who did what to whose data, when and from where (the audit trail)",
		Long: `audit reads the audit topic from its start (committed records up to now) and
prints one line per admin action that matches: when, who (holder, token id,
role), from where (the connection's peer), what (route, regulation, plan,
token), whose data (subject ids), and how it ended (status, rows exported).
An action whose outcome was never recorded (its process stopped, or it is
still running) says so. --json prints one JSON object per action, with every
subject id. The trail holds no event payloads. See docs/admin.md.`,
		Example: `  sluice audit --config sluice.yaml --subject u-123
  sluice audit --config sluice.yaml --holder alice@acme.com --since 7d --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if since != "" {
				t, err := parseSince(since, time.Now())
				if err != nil {
					return err
				}
				filter.Since = t
			}
			c, err := f.open()
			if err != nil {
				return err
			}
			ctx, cancel := contextTimeout(cmd, f.timeout)
			defer cancel()
			entries, skipped, err := c.ReadAudit(ctx, filter)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			enc := json.NewEncoder(out)
			enc.SetEscapeHTML(false)
			for _, e := range entries {
				if asJSON {
					if err := enc.Encode(e); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintln(out, e.Line())
			}
			if skipped > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "sluice audit: %d record%s of the audit topic could not be read\n", skipped, plural(skipped))
			}
			return nil
		},
	}
	f.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&filter.Holder, "holder", "", "only actions with a token of this holder")
	fl.StringVar(&filter.Subject, "subject", "", "only actions that named this subject id (filings, exports)")
	fl.StringVar(&filter.Regulation, "regulation", "", "only actions on this regulation id")
	fl.StringVar(&since, "since", "", "only actions since this long ago (24h, 7d) or this time (RFC 3339)")
	fl.BoolVar(&asJSON, "json", false, "one JSON object per action")
	return cmd
}

// parseSince reads --since: a duration before now, or a time.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := config.ParseDuration(s)
	if err != nil || d < 0 || strings.HasPrefix(s, "-") {
		return time.Time{}, fmt.Errorf("--since %q: want a duration such as 24h or 7d, or an RFC 3339 time", s)
	}
	return now.Add(-d), nil
}
