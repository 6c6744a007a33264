package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/topology/regulator"
)

// adminFlags are the flags of every command that talks to the admin API.
type adminFlags struct {
	api     string
	token   string
	timeout time.Duration
}

func (f *adminFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.api, "api", "http://127.0.0.1:8088", "base URL of the sluice admin API")
	pf.StringVar(&f.token, "admin-token", "", "admin bearer token (default $SLUICE_ADMIN_TOKEN)")
	pf.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up on one API request after this long")
}

// apiError is a refusal of the admin API.
type apiError struct {
	status int
	Err    string `json:"error"`
	Code   string `json:"code"`
	Field  string `json:"field"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("admin API answered %d: %s", e.status, e.Err)
}

// retryable reports whether a failed request may be sent again as is.
func retryable(err error) bool {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.status == http.StatusServiceUnavailable || ae.status == http.StatusTooManyRequests || ae.status >= 500
	}
	return !errors.Is(err, context.Canceled) // network errors
}

// do sends one request and decodes a 200's JSON body into out (when not nil);
// with out == nil the caller gets the open response.
func (f *adminFlags) do(ctx context.Context, method, path string, body []byte, hdr map[string]string, out any) (*http.Response, error) {
	token := f.token
	if token == "" {
		token = os.Getenv("SLUICE_ADMIN_TOKEN")
	}
	if token == "" {
		return nil, errors.New("no admin token: pass --admin-token or set SLUICE_ADMIN_TOKEN")
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(f.api, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		ae := &apiError{status: resp.StatusCode}
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(data, ae) != nil || ae.Err == "" {
			ae.Err = strings.TrimSpace(string(data))
		}
		return nil, ae
	}
	if out == nil {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, json.NewDecoder(resp.Body).Decode(out)
}

// newRegulationsCmd is `sluice regulations`: file regulations and follow them
// (docs/regulations.md).
func newRegulationsCmd() *cobra.Command {
	f := &adminFlags{}
	cmd := &cobra.Command{
		Use:   "regulations",
		Short: "File data-subject regulations (suppress, delete, unsuppress) and follow their status",
		Long: `regulations talks to the admin API of a running sluice: create files
regulations (any number of ids, split into requests of at most 5,000), get and
list show their status and receipts, watch follows them until they are done.
See docs/regulations.md for what each type does.`,
	}
	f.register(cmd)
	cmd.AddCommand(newRegCreateCmd(f), newRegGetCmd(f), newRegListCmd(f), newRegWatchCmd(f))
	return cmd
}

func newRegCreateCmd(f *adminFlags) *cobra.Command {
	var typ, subject, file, key string
	var batch int
	cmd := &cobra.Command{
		Use:   "create --type TYPE [--subject-type USER_ID|ANONYMOUS_ID] [ID…] [--file FILE|-]",
		Short: "File a regulation for ids given as arguments, in a file (one per line) or on stdin",
		Long: `create files one regulation per batch of at most --batch ids (5,000, the API's
limit) and prints each regulation's id. Ids come from the arguments, else from
--file (one per line; blank lines and lines starting with # are skipped; "-"
is stdin), else from stdin. Files of any size are streamed.

Each request carries an Idempotency-Key: --idempotency-key K sends K-1, K-2, …
so that running the same command again with the same K and the same file
files nothing twice. Requests the API could not take (503) are retried.`,
		Example: `  sluice regulations create --type SUPPRESS_WITH_DELETE u-1 u-2
  sluice regulations create --type DELETE_ONLY --file users.txt --idempotency-key gdpr-2026-01`,
		RunE: func(cmd *cobra.Command, args []string) error {
			t := regulator.Type(typ)
			if !t.Valid() {
				return fmt.Errorf("--type %q: want one of %s", typ, typesList())
			}
			st := regulator.SubjectType(subject)
			if !st.Valid() {
				return fmt.Errorf("--subject-type %q: want USER_ID or ANONYMOUS_ID", subject)
			}
			if batch < 1 || batch > regulator.MaxSubjectIDs {
				return fmt.Errorf("--batch %d: want 1 to %d", batch, regulator.MaxSubjectIDs)
			}
			if key == "" {
				var b [8]byte
				_, _ = rand.Read(b[:])
				key = "cli-" + hex.EncodeToString(b[:])
			}
			src, total, closeSrc, err := idSource(cmd, args, file)
			if err != nil {
				return err
			}
			defer closeSrc()
			p := &progress{w: cmd.ErrOrStderr(), total: total}
			return fileChunks(cmd.Context(), src, batch, func(chunk []string, lines []int, n int) error {
				body, _ := json.Marshal(regulator.Body{RegulationType: t, SubjectType: st, SubjectIDs: chunk})
				id, err := createWithRetry(cmd.Context(), f, body, key+"-"+strconv.Itoa(n))
				if err != nil {
					var ae *apiError
					if errors.As(err, &ae) && strings.HasPrefix(ae.Field, "subjectIds[") {
						i, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(ae.Field, "subjectIds["), "]"))
						if i >= 0 && i < len(lines) {
							return fmt.Errorf("line %d: %s (request %d; earlier requests were filed)", lines[i], ae.Err, n)
						}
					}
					return fmt.Errorf("request %d: %w (earlier requests were filed)", n, err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), id)
				p.add(len(chunk))
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&typ, "type", "", "regulation type: "+typesList())
	fl.StringVar(&subject, "subject-type", "USER_ID", "what the ids are: USER_ID or ANONYMOUS_ID")
	fl.StringVar(&file, "file", "", `read ids from this file, one per line ("-": stdin)`)
	fl.StringVar(&key, "idempotency-key", "", "make re-running this command safe: requests are keyed KEY-1, KEY-2, …")
	fl.IntVar(&batch, "batch", regulator.MaxSubjectIDs, "ids per request")
	_ = cmd.MarkFlagRequired("type")
	return cmd
}

// idSource opens where the ids come from and, for a regular file, counts
// its lines for the progress line (total 0: unknown).
func idSource(cmd *cobra.Command, args []string, file string) (io.Reader, int, func(), error) {
	switch {
	case len(args) > 0:
		if file != "" {
			return nil, 0, nil, errors.New("give ids as arguments or with --file, not both")
		}
		return strings.NewReader(strings.Join(args, "\n")), len(args), func() {}, nil
	case file == "" || file == "-":
		return cmd.InOrStdin(), 0, func() {}, nil
	}
	fh, err := os.Open(file)
	if err != nil {
		return nil, 0, nil, err
	}
	total, err := countLines(fh)
	if err == nil {
		_, err = fh.Seek(0, io.SeekStart)
	}
	if err != nil {
		fh.Close()
		return nil, 0, nil, err
	}
	return fh, total, func() { fh.Close() }, nil
}

func countLines(r io.Reader) (int, error) {
	n := 0
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			n++
		}
	}
	return n, sc.Err()
}

// fileChunks reads ids line by line and calls send with every batch of up
// to size ids, their line numbers, and the batch's number (from 1).
func fileChunks(ctx context.Context, r io.Reader, size int, send func(ids []string, lines []int, n int) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ids []string
	var lines []int
	n, line := 0, 0
	flush := func() error {
		if len(ids) == 0 {
			return nil
		}
		n++
		err := send(ids, lines, n)
		ids, lines = ids[:0], lines[:0]
		return err
	}
	for sc.Scan() {
		line++
		id := strings.TrimSpace(sc.Text())
		if id == "" || strings.HasPrefix(id, "#") {
			continue
		}
		ids, lines = append(ids, id), append(lines, line)
		if len(ids) == size {
			if err := flush(); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading ids, line %d: %w", line+1, err)
	}
	if n == 0 && len(ids) == 0 {
		return errors.New("no ids given")
	}
	return flush()
}

// createWithRetry posts one request, retrying what the API could not take
// yet with the same Idempotency-Key.
func createWithRetry(ctx context.Context, f *adminFlags, body []byte, key string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, f.timeout)
		_, err := f.do(rctx, http.MethodPost, "/v1/regulations", body, map[string]string{"Idempotency-Key": key}, &out)
		cancel()
		if err == nil {
			return out.ID, nil
		}
		if !retryable(err) || attempt == 8 || ctx.Err() != nil {
			return "", err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 15*time.Second)
	}
}

// progress prints "filed N requests, M ids [of T]" to stderr: in place on a
// terminal, a line per request otherwise.
type progress struct {
	w             io.Writer
	total         int
	requests, ids int
}

func (p *progress) add(n int) {
	p.requests++
	p.ids += n
	msg := fmt.Sprintf("filed %d request%s, %d ids", p.requests, plural(p.requests), p.ids)
	if p.total > 0 {
		msg += fmt.Sprintf(" of %d (%d%%)", p.total, p.ids*100/p.total)
	}
	if f, ok := p.w.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(p.w, "\r"+msg)
		if p.total > 0 && p.ids >= p.total {
			fmt.Fprintln(p.w)
		}
		return
	}
	fmt.Fprintln(p.w, msg)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func typesList() string {
	s := make([]string, len(regulator.Types))
	for i, t := range regulator.Types {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

func newRegGetCmd(f *adminFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a regulation: status, per-destination status, steps and receipts",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			var r regulator.Regulation
			if _, err := f.do(ctx, http.MethodGet, "/v1/regulations/"+url.PathEscape(args[0]), nil, nil, &r); err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			return printRegulation(cmd.OutOrStdout(), &r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the whole regulation as JSON, receipts included")
	return cmd
}

func printRegulation(w io.Writer, r *regulator.Regulation) error {
	fmt.Fprintf(w, "%s  %s  %s  %d %s subject%s  filed %s\n", r.ID, r.OverallStatus, r.Request.RegulationType,
		len(r.Request.SubjectIDs), r.Request.SubjectType, plural(len(r.Request.SubjectIDs)), r.CreatedAt.Format(time.RFC3339))
	if r.FinishedAt != nil {
		fmt.Fprintf(w, "finished %s (%s)\n", r.FinishedAt.Format(time.RFC3339), r.FinishedAt.Sub(r.CreatedAt).Round(time.Millisecond))
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, st := range r.Steps {
		fmt.Fprintf(tw, "  step %s\t%s\t%s\n", st.Name, st.Status, firstOf(st.Error, st.Detail, receiptLine(st.Receipt)))
	}
	for _, d := range r.Destinations {
		fmt.Fprintf(tw, "  destination %s\t%s\t%s\n", d.Name, d.Status, firstOf(d.Error, receiptLine(d.Receipt)))
	}
	return tw.Flush()
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// receiptLine sums up a receipt in one line.
func receiptLine(rc *regulator.Receipt) string {
	if rc == nil {
		return ""
	}
	var parts []string
	if rc.RowsBefore != nil && rc.RowsAfter != nil {
		parts = append(parts, fmt.Sprintf("rows %d → %d", *rc.RowsBefore, *rc.RowsAfter))
	}
	if rc.HTTPStatus != 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(rc.HTTPStatus))
	}
	if rc.Records > 0 {
		parts = append(parts, strconv.Itoa(rc.Records)+" records")
	}
	if len(rc.Offsets) > 0 {
		parts = append(parts, strconv.Itoa(len(rc.Offsets))+" offsets")
	}
	if rc.Batch != nil && rc.Batch.Regulations > 1 {
		parts = append(parts, fmt.Sprintf("batched with %d regulations", rc.Batch.Regulations-1))
	}
	return strings.Join(parts, ", ")
}

func newRegListCmd(f *adminFlags) *cobra.Command {
	var status string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--status STATUS]",
		Short: "List regulations, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if status != "" {
				q.Set("status", status)
			}
			var out struct{ Regulations []regulator.Summary }
			if _, err := f.do(ctx, http.MethodGet, "/v1/regulations?"+q.Encode(), nil, nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tTYPE\tSUBJECTS\tFILED\tFINISHED")
			for _, r := range out.Regulations {
				fin := "-"
				if r.FinishedAt != nil {
					fin = r.FinishedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d %s\t%s\t%s\n", r.ID, r.OverallStatus, r.RegulationType, r.Subjects, r.SubjectType, r.CreatedAt.Format(time.RFC3339), fin)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only regulations in this overall status")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many (1–1000)")
	return cmd
}

func newRegWatchCmd(f *adminFlags) *cobra.Command {
	var every time.Duration
	cmd := &cobra.Command{
		Use:   "watch ID…",
		Short: "Follow regulations until they are done; fails unless all FINISHED",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			last := map[string]string{}
			pending := slices.Clone(args)
			notFinished := 0
			for len(pending) > 0 {
				var next []string
				for _, id := range pending {
					ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
					var r regulator.Regulation
					_, err := f.do(ctx, http.MethodGet, "/v1/regulations/"+url.PathEscape(id), nil, nil, &r)
					cancel()
					if err != nil {
						if !retryable(err) || cmd.Context().Err() != nil {
							return err
						}
						next = append(next, id)
						continue
					}
					line := string(r.OverallStatus)
					for _, st := range r.Steps {
						if !st.Status.Terminal() || st.Error != "" {
							line += "  " + st.Name + ": " + firstOf(st.Error, st.Detail, string(st.Status))
						}
					}
					if line != last[id] {
						fmt.Fprintf(out, "%s  %s  %s\n", time.Now().Format("15:04:05"), id, line)
						last[id] = line
					}
					switch {
					case !r.OverallStatus.Terminal():
						next = append(next, id)
					case r.OverallStatus != regulator.Finished:
						notFinished++
					}
				}
				pending = next
				if len(pending) > 0 {
					select {
					case <-cmd.Context().Done():
						return cmd.Context().Err()
					case <-time.After(every):
					}
				}
			}
			if notFinished > 0 {
				return fmt.Errorf("%d regulation%s did not finish", notFinished, plural(notFinished))
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&every, "interval", time.Second, "how often to look")
	return cmd
}

// newExportCmd is `sluice export`: every row and record sluice holds of a
// user, streamed to stdout.
func newExportCmd() *cobra.Command {
	f := &adminFlags{}
	var user, format string
	var anonymous bool
	cmd := &cobra.Command{
		Use:   "export --user ID [--format jsonl|csv]",
		Short: "Export everything sluice holds of a user (access and portability requests)",
		Long: `export streams every row of the user from every sluice ClickHouse table
(with the rows of anonymousIds linked to the user), plus the user's profile,
consent, identity links and suppression, as JSON lines or CSV on stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "jsonl" && format != "csv" {
				return fmt.Errorf("--format %q: want jsonl or csv", format)
			}
			q := url.Values{"format": {format}}
			if anonymous {
				q.Set("subjectType", string(regulator.AnonymousID))
			}
			// No timeout on the whole stream: an export may be long.
			resp, err := f.do(cmd.Context(), http.MethodGet, "/v1/users/"+url.PathEscape(user)+"/export?"+q.Encode(), nil, nil, nil)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if _, err := io.Copy(cmd.OutOrStdout(), resp.Body); err != nil {
				return fmt.Errorf("export cut short: %w", err)
			}
			if e := resp.Trailer.Get(regulator.ExportErrorTrailer); e != "" {
				return fmt.Errorf("export incomplete: %s", e)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&user, "user", "", "the userId to export (required)")
	cmd.Flags().StringVar(&format, "format", "jsonl", "jsonl or csv")
	cmd.Flags().BoolVar(&anonymous, "anonymous", false, "--user is an anonymousId")
	_ = cmd.MarkFlagRequired("user")
	return cmd
}
