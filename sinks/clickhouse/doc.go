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
// # Deleting
//
// A Warehouse is the one place that deletes, counts and exports data
// subjects' rows: its Delete runs one lightweight DELETE per table holding
// the subjects' rows (ON CLUSTER on a cluster, waiting for every replica),
// then verifies with a count that none remain, and returns the counts and
// statements as a receipt. The Sink's Delete goes through the Sink's own
// Warehouse; the regulator opens one from the destination's Config
// (OpenWarehouse), without the sink's DDL and inserts.
package clickhouse
