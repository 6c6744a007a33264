package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sluicehq/sluice/topology/deadletters"
)

// newDeadLetterCmd is `sluice deadletter`: list dead letters and replay them
// (docs/deadletters.md).
func newDeadLetterCmd() *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "deadletter",
		Short: "List dead letters and replay them to their destination once the cause is fixed",
		Long: `deadletter talks to the admin API of a running sluice with a token of the
operator role: list summarizes the deadletter topic by origin, destination and
reason; replay writes a destination's dead letters back to its topic, where its
sink delivers them through the privacy re-check. Both are recorded on the
audit trail. See docs/deadletters.md.`,
	}
	f.register(cmd)
	cmd.AddCommand(newDeadLetterListCmd(f), newDeadLetterReplayCmd(f))
	return cmd
}

// filterFlags are the selection flags of list and replay.
type filterFlags struct {
	origin, destination, reason, since, until string
}

func (ff *filterFlags) register(fl *pflag.FlagSet, withOrigin bool) {
	if withOrigin {
		fl.StringVar(&ff.origin, "origin", "", "only the dead letters of one role: sink, router or api")
	}
	fl.StringVar(&ff.destination, "destination", "", "only the dead letters of this destination")
	fl.StringVar(&ff.reason, "reason", "", "only the dead letters of this reason, exactly as list shows it")
	fl.StringVar(&ff.since, "since", "", "only dead letters written since this long ago (24h, 7d) or this time (RFC 3339)")
	fl.StringVar(&ff.until, "until", "", "only dead letters written before this long ago or this time")
}

// filter is the selection the flags make, times resolved against now.
func (ff *filterFlags) filter(now time.Time) (deadletters.Filter, error) {
	f := deadletters.Filter{Origin: deadletters.Origin(ff.origin), Destination: ff.destination, Reason: ff.reason}
	var err error
	if ff.since != "" {
		if f.Since, err = parseSince(ff.since, now); err != nil {
			return f, err
		}
	}
	if ff.until != "" {
		if f.Until, err = parseSince(ff.until, now); err != nil {
			return f, fmt.Errorf("--until: %w", err)
		}
	}
	return f, nil
}

func newDeadLetterListCmd(f *adminFlags) *cobra.Command {
	var (
		ff                     filterFlags
		show, payloads, asJSON bool
		limit                  int
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Count dead letters by origin, destination and reason; --show lists them",
		Long: `list prints one line per origin, destination and reason: how many dead
letters, how many were replayed, the first and the last. Letters that cannot
be opened (their subject was deleted: key_shredded) are counted apart. --show
lists each letter's metadata (id, time, reason, messageId, type, event name),
never its event; --payloads adds the event or the refused body, which is
personal data.`,
		Example: `  sluice deadletter list
  sluice deadletter list --destination crm --since 24h --show
  sluice deadletter list --origin api --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			flt, err := ff.filter(time.Now())
			if err != nil {
				return err
			}
			q := flt.Query()
			if show {
				q.Set("show", "true")
			}
			if payloads {
				q.Set("payloads", "true")
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			ctx, cancel := contextTimeout(cmd, f.timeout)
			defer cancel()
			var out deadletters.Listing
			if _, err := f.do(ctx, http.MethodGet, "/v1/deadletters?"+q.Encode(), nil, nil, &out); err != nil {
				return err
			}
			if asJSON {
				return encodeJSON(cmd.OutOrStdout(), out)
			}
			return writeListing(cmd.OutOrStdout(), &out)
		},
	}
	fl := cmd.Flags()
	ff.register(fl, true)
	fl.BoolVar(&show, "show", false, "list each dead letter's metadata too")
	fl.BoolVar(&payloads, "payloads", false, "with each dead letter, its event or refused body: personal data (implies --show)")
	fl.IntVar(&limit, "limit", 0, "show at most this many letters, the newest (default 1000)")
	fl.BoolVar(&asJSON, "json", false, "print the admin API's answer as JSON")
	return cmd
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeListing prints a listing as text: the groups, the unreadable
// counts, and the letters when shown.
func writeListing(w io.Writer, l *deadletters.Listing) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORIGIN\tDESTINATION\tREASON\tCOUNT\tREPLAYED\tFIRST\tLAST")
	for _, g := range l.Groups {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", g.Origin, orDash(g.Destination), g.Reason, g.Count, g.Replayed,
			g.First.Format(time.RFC3339), g.Last.Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, g := range l.Unreadable {
		fmt.Fprintf(w, "unreadable: %d %s (%s), %s to %s\n", g.Count, g.Reason, unreadableWhy(g.Reason),
			g.First.Format(time.RFC3339), g.Last.Format(time.RFC3339))
	}
	if len(l.Letters) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	if l.Truncated {
		fmt.Fprintf(w, "(the %d newest letters; --limit shows more)\n", len(l.Letters))
	}
	for _, d := range l.Letters {
		fmt.Fprintf(w, "%s  %s  %s  %s  reason=%q", d.ID, d.At.Format(time.RFC3339Nano), d.Origin, orDash(d.Destination), d.Reason)
		for _, kv := range [][2]string{{"messageId", d.MessageID}, {"type", d.Type}, {"event", d.Event}, {"field", d.Field}, {"source", d.Source}} {
			if kv[1] != "" {
				fmt.Fprintf(w, " %s=%q", kv[0], kv[1])
			}
		}
		if len(d.Replays) > 0 {
			fmt.Fprintf(w, " replayed=%s", strings.Join(d.Replays, ","))
		}
		fmt.Fprintln(w)
		if d.Payload != "" {
			fmt.Fprintf(w, "    %s\n", d.Payload)
		}
	}
	return nil
}

// unreadableWhy says what an unreadable reason means.
func unreadableWhy(reason string) string {
	switch reason {
	case "key_shredded":
		return "their subject's data key is shredded: deleted, never replayed"
	case "key_unwrappable":
		return "their data key's KEK is not in this API's keyring"
	}
	return "cannot be read"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newDeadLetterReplayCmd(f *adminFlags) *cobra.Command {
	var (
		ff                    filterFlags
		dryRun, again, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "replay --destination D",
		Short: "Write a destination's dead letters back to its topic, through the privacy re-check",
		Long: `replay writes the selected dead letters of one destination back to its
dest.<name> topic (same key, sealed under the same data key), where its sink
delivers them after re-checking suppression, consent and data keys. Letters of
subjects suppressed or deleted since are skipped and counted; so are letters
an earlier replay re-delivered, unless --again. The replayed events, the
replay's markers and its audit record are written in one transaction.
--dry-run counts and writes nothing.`,
		Example: `  sluice deadletter replay --destination crm --dry-run
  sluice deadletter replay --destination crm --since 24h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ff.destination == "" {
				return fmt.Errorf("--destination: required")
			}
			flt, err := ff.filter(time.Now())
			if err != nil {
				return err
			}
			body, _ := json.Marshal(deadletters.ReplayRequest{Filter: flt, DryRun: dryRun, Again: again})
			ctx, cancel := contextTimeout(cmd, f.timeout)
			defer cancel()
			var rep deadletters.Report
			if _, err := f.do(ctx, http.MethodPost, "/v1/deadletters/replay", body, nil, &rep); err != nil {
				return err
			}
			if asJSON {
				return encodeJSON(cmd.OutOrStdout(), rep)
			}
			fmt.Fprintln(cmd.OutOrStdout(), replayLine(rep))
			return nil
		},
	}
	fl := cmd.Flags()
	ff.register(fl, false)
	fl.BoolVar(&dryRun, "dry-run", false, "count what a replay would do; write nothing")
	fl.BoolVar(&again, "again", false, "also replay dead letters an earlier replay re-delivered")
	fl.BoolVar(&asJSON, "json", false, "print the admin API's answer as JSON")
	return cmd
}

// replayLine is a replay's report on one line.
func replayLine(r deadletters.Report) string {
	verb, id := "replayed", " "+r.ID
	if r.DryRun {
		verb, id = "would replay", " (dry run)"
	}
	return fmt.Sprintf("replay%s to %s (%s): %s %d of %d selected dead letter%s; skipped: %d suppressed, %d already replayed; "+
		"%d shredded and %d unreadable in the time range",
		id, r.Destination, r.Topic, verb, r.Replayed, r.Selected, plural(r.Selected), r.SkippedSuppressed, r.AlreadyReplayed,
		r.SkippedShredded, r.Unreadable)
}
