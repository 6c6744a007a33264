// Package clickhouse is the warehouse sink: it writes events into tables
// sluice owns in one ClickHouse database, over the native or HTTP protocol
// (clickhouse-go v2).
//
// # Tables
//
// Open creates the database and the core tables if missing and adds columns
// a newer sluice defines (it never drops or retypes): tracks, identifies,
// pages, screens, groups, aliases (one row per call), and users (the latest
// identify per user, ReplacingMergeTree by received_at). Planned track events
// also go to a typed table per event, track_<event>, whose columns come from
// the event's Avro schema in the plan version named by context.protocols;
// a new plan version adds the columns it lacks, and a field whose column
// would change type is refused with a *sinks.SchemaError. docs/warehouse.md
// describes every table and column, and why they are keyed as they are; the
// golden files in testdata/ddl are the DDL, on one server, on a cluster of
// one shard and on a sharded cluster (Config.Cluster).
//
// # Writing
//
// Write appends each table's rows column by column and sends one insert per
// table (and per schema version for typed tables). Inserts are idempotent:
// each carries an insert_deduplication_token from the topic, partition and
// offsets of its rows, which the tables remember
// (non_replicated_deduplication_window); and after a restart or a failed
// Write the sink looks up which of a batch's offsets each table already
// holds, so a batch re-delivered with other bounds adds nothing twice. A
// value ClickHouse refuses fails its row alone (the insert is halved until
// the row is found); the Write then returns a *sinks.BatchError.
//
// # Retention
//
// Config.Retention (the workspace's and its sources' retention) becomes a
// TTL on every table with source and received_at columns: one DELETE rule
// per retention, naming its sources, and the default's rule for every other
// source (Retention.ttl). Tables are created with it; at Open every such
// MergeTree table in the database whose TTL (read from system.tables'
// engine_full) differs gets ALTER TABLE … MODIFY TTL or REMOVE TTL, whose
// mutation rewrites its parts without the rows the new rule expires.
// ClickHouse deletes rows expiring later in its background TTL merges, one
// per partition as soon as a part holds expired rows and then at most every
// merge_with_ttl_timeout (default 4h), which sluice leaves as it is: rows go
// within about that long after expiring when merges keep up. Running
// MATERIALIZE TTL on a schedule would rewrite whole tables to gain little
// over that bound, so the sink does not.
//
// # Deleting
//
// A Warehouse is the one place that deletes, counts and exports data
// subjects' rows. Its Delete, per table holding the subjects' rows (ON
// CLUSTER on a cluster, waiting for every replica):
//
//  1. sets the table's part cleanup to finish within Config.PurgeWithin
//     (purgeSettings; new tables are created with them);
//  2. masks the rows with a lightweight DELETE: they vanish from queries
//     at once (about a second for 5,000 users of 10 million rows);
//  3. rewrites the partitions that held them with ALTER TABLE … APPLY
//     DELETED MASK IN PARTITION: the active parts no longer contain them,
//     so no setting (apply_deleted_mask = 0 or any other) returns them;
//  4. counts them with apply_deleted_mask = 0, which must give 0.
//
// The parts the rewrite replaced stay on disk until ClickHouse's cleanup
// removes them, within PurgeWithin; PurgedBefore reads system.parts to tell
// when. Statements name the ids through Set tables held in memory (see
// subjects): no mutation record (system.mutations, mutation_N.txt) or query
// log holds them. On a cluster they are literals (docs/warehouse.md says
// where they remain). The receipt lists rows before and after per table and
// the statements, ids elided. The Sink's Delete goes through the Sink's
// own Warehouse; the regulator opens one from the destination's Config
// (OpenWarehouse), without the sink's DDL and inserts.
//
// Why a rewrite at once, and this one. A lightweight DELETE alone leaves
// the rows in the parts behind a mask: anyone with SELECT reads them back
// with apply_deleted_mask = 0, and their bytes stay until a merge, which a
// quiet table may never do. Measured on the local engine (2 cores, a shared
// machine), a tracks table of 10 million rows (670 MiB, three monthly
// partitions of one part each), 5,000 users / 1 user, range of three runs
// (BenchmarkErase10MRows):
//
//	lightweight DELETE alone (rows still readable)   0.9–2.9 s / 0.9–1.0 s
//	DELETE + APPLY DELETED MASK IN PARTITION        12.5–37 s / 12.4–16 s
//	ALTER TABLE … DELETE (a mutation)               10.4–29 s / 13.2–18 s
//	DELETE + OPTIMIZE TABLE … FINAL                 19.0–34 s / 13.6–14 s
//	Warehouse.Delete (counts, sets, the above)      12.3–28 s / 12.8–24 s
//
// Every way that makes the rows unreadable rewrites every part holding
// them, and with tables sorted by time first one user's rows are in every
// part of the months they were active: the cost is the size of those
// partitions, whether one user goes or 5,000. The three rewrites cost the
// same within this machine's noise; DELETE + APPLY DELETED MASK is chosen
// because the rows are gone
// from ordinary queries after the first second rather than at the end of
// the rewrite, and a failed rewrite leaves them masked; because it rewrites
// only the partitions that held them (OPTIMIZE FINAL merges every
// partition, and dedups ReplacingMergeTree tables on the way). A row policy
// hiding masked rows would be instant but leaves the bytes, needs access
// management sluice's user may not have, and the local engine refuses it
// (ACCESS_DENIED), so it could not be tested. Deferring the rewrite to
// batch it across regulations would lower the cost when regulations come
// often, at the price of rows readable with apply_deleted_mask = 0 after
// FINISHED, the bug this replaces; regulations filed during a rewrite
// already form one batch in the regulator.
package clickhouse
