package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/sluicehq/sluice/topology/bench"
)

// newBenchCmd is `sluice bench`: in-process measurements of sluice's stages.
func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure sluice's throughput in process, against an embedded broker",
	}
	var cpuProfile string
	cmd.PersistentFlags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	var stop func()
	cmd.PersistentPreRunE = func(*cobra.Command, []string) error {
		if cpuProfile == "" {
			return nil
		}
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return err
		}
		stop = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	cmd.PersistentPostRun = func(*cobra.Command, []string) {
		if stop != nil {
			stop()
		}
	}
	cmd.AddCommand(newBenchIngestCmd(), newBenchRouterCmd(), newBenchSinkCmd())
	return cmd
}

// printJSONLast prints v as the command's last line, the contract with scripts.
func printJSONLast(cmd *cobra.Command, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(cmd.OutOrStdout(), string(line))
	return err
}

func newBenchRouterCmd() *cobra.Command {
	var cfg bench.RouterConfig
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Router throughput on mixed events against a transactional franz-go passthrough",
		Long: `router starts an embedded broker, writes --events realistic mixed events
(track with 12 properties and an array of records, identify, page; 10% from
suppressed users), publishes a tracking plan, and measures in the same run a
transactional franz-go consume→produce passthrough of the records and then
the router (suppress, validate, consent, filters, three destinations). The
last line is a JSON object with at least events_per_sec,
passthrough_events_per_sec and ratio. With --encryption it routes the same
events sealed under their users' data keys too (a fresh broker) and adds
encrypted_events_per_sec and encryption_ratio (sealed over plaintext).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.OutOrStdout()
			res, err := bench.Router(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printJSONLast(cmd, res)
		},
	}
	cmd.Flags().IntVar(&cfg.Events, "events", 1_000_000, "events to route")
	cmd.Flags().IntVar(&cfg.Partitions, "partitions", 6, "partitions of events.raw and the destination topics")
	cmd.Flags().BoolVar(&cfg.Encryption, "encryption", false, "also route the events sealed under their users' data keys and report encryption_ratio")
	cmd.Flags().BoolVar(&cfg.NoCompression, "no-compression", false, "produce without batch compression in every run (sealed values do not compress: this isolates sealing's CPU cost)")
	return cmd
}

func newBenchIngestCmd() *cobra.Command {
	var cfg bench.IngestConfig
	cmd := &cobra.Command{
		Use:   "ingest",
		Short: "Tracking API throughput over loopback HTTP against franz-go producing straight",
		Long: `ingest starts an embedded broker and the tracking API on a loopback port, sends
--events events in batches of --batch over HTTP from --clients concurrent
clients, then produces the same events.raw records straight with franz-go as
the baseline. The last line of its output is a JSON object with at least
events_per_sec, baseline_events_per_sec, ratio and p99_ms. With --encryption
it runs the API again sealing every value under its user's data key (a fresh
broker) and adds encrypted_events_per_sec and encryption_ratio.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Out = cmd.OutOrStdout()
			res, err := bench.Ingest(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printJSONLast(cmd, res)
		},
	}
	cmd.Flags().IntVar(&cfg.Events, "events", 500_000, "events to send")
	cmd.Flags().IntVar(&cfg.Clients, "clients", 32, "concurrent HTTP clients (keep-alive connections)")
	cmd.Flags().IntVar(&cfg.BatchSize, "batch", 100, "events per request")
	cmd.Flags().BoolVar(&cfg.Encryption, "encryption", false, "also run with every value sealed under its user's data key and report encryption_ratio")
	cmd.Flags().BoolVar(&cfg.NoCompression, "no-compression", false, "produce without batch compression in every run (sealed values do not compress: this isolates sealing's CPU cost)")
	return cmd
}

func newBenchSinkCmd() *cobra.Command {
	var opts bench.SinkOptions
	cmd := &cobra.Command{
		Use:   "sink",
		Short: "ClickHouse sink throughput into the local engine against clickhouse-go inserting the same rows",
		Long: `sink writes --events typical events through the ClickHouse sink into the local
ClickHouse engine (a fresh data directory) and, in the same run, inserts the
same rows with clickhouse-go from ready-made columns as the baseline. With
--delete-users it measures instead a lightweight delete of that many users
from a tracks table of --rows rows. The last line is a JSON object with at
least rows_per_sec, baseline_rows_per_sec and ratio (or delete_seconds).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Out = cmd.OutOrStdout()
			res, err := bench.Sink(cmd.Context(), opts)
			if err != nil {
				return err
			}
			return printJSONLast(cmd, res)
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Events, "events", 1_000_000, "events to write")
	f.IntVar(&opts.BatchEvents, "batch", 0, "events per batch (default: the sink's own)")
	f.StringVar(&opts.JSONColumns, "json-columns", "", `column mode of context/properties: "json" (default) or "string"`)
	f.IntVar(&opts.DeleteUsers, "delete-users", 0, "measure deleting this many users instead")
	f.IntVar(&opts.Rows, "rows", 0, "rows of the tracks table for --delete-users (default 10,000,000)")
	return cmd
}
