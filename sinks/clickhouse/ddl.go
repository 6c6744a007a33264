package clickhouse

import (
	"fmt"
	"strings"
	"time"
)

// field is what a core column holds of an event; it fixes the Go type the
// column is filled with.
type field uint8

const (
	fMessageID field = iota + 1
	fWorkspace
	fSource
	fUserID
	fAnonymousID
	fEvent
	fName
	fCategory
	fGroupID
	fPreviousID
	fTimestamp         // time.Time
	fOriginalTimestamp // nullable time
	fSentAt            // nullable time
	fReceivedAt        // time.Time
	fContext           // JSON text
	fProperties        // JSON text
	fTraits            // JSON text
	fPlan
	fPlanVersion  // uint32
	fEventVersion // uint32
	fTopic
	fPartition // int32
	fOffset    // int64
	fLoadedAt  // server default, never sent
)

// column is one column of a table sluice owns.
type column struct {
	name    string
	typ     string // ClickHouse type; "JSON" is replaced by the JSON column mode
	comment string
	field   field // core tables: what fills it; 0 for typed-table fields
}

// table is the definition of a table sluice owns.
type table struct {
	name        string
	comment     string
	columns     []column
	replacing   string // version column of a ReplacingMergeTree; "" for MergeTree
	partitionBy string // "" for none
	orderBy     string
	indexes     []string
}

// Core table names.
const (
	tableTracks     = "tracks"
	tableIdentifies = "identifies"
	tablePages      = "pages"
	tableScreens    = "screens"
	tableGroups     = "groups"
	tableAliases    = "aliases"
	tableUsers      = "users"
)

var (
	colMessageID   = column{"message_id", "String", "Segment messageId: unique per event", fMessageID}
	colWorkspace   = column{"workspace", "LowCardinality(String)", "the tenant (sluice.yaml workspace)", fWorkspace}
	colSource      = column{"source", "LowCardinality(String)", "the source whose write key sent the event", fSource}
	colUserID      = column{"user_id", "String", "userId; empty when the user was anonymous", fUserID}
	colAnonymousID = column{"anonymous_id", "String", "anonymousId; empty when the sender gave none", fAnonymousID}
	colTimestamp   = column{"timestamp", "DateTime64(3, 'UTC')", "when the event happened, corrected for the sender's clock skew", fTimestamp}
	colOriginalTS  = column{"original_timestamp", "Nullable(DateTime64(3, 'UTC'))", "timestamp as the sender wrote it", fOriginalTimestamp}
	colSentAt      = column{"sent_at", "Nullable(DateTime64(3, 'UTC'))", "when the sender says it sent the event", fSentAt}
	colReceivedAt  = column{"received_at", "DateTime64(3, 'UTC')", "when sluice's tracking API received the event", fReceivedAt}
	colContext     = column{"context", contextJSON, "the context object as sent (library, page, userAgent, ip, protocols, ...)", fContext}
	colPlan        = column{"plan", "LowCardinality(String)", "tracking plan that judged the event; empty when none", fPlan}
	colPlanVersion = column{"plan_version", "UInt32", "published version of that plan; 0 when none", fPlanVersion}
	colEventVer    = column{"event_version", "UInt32", "schema version of the planned event; 0 when unplanned", fEventVersion}
	colTopic       = column{"kafka_topic", "LowCardinality(String)", "topic sluice delivered the event from", fTopic}
	colPartition   = column{"kafka_partition", "Int32", "partition sluice delivered the event from", fPartition}
	colOffset      = column{"kafka_offset", "Int64", "offset sluice delivered the event from: with topic and partition, the delivery's identity", fOffset}
	colLoadedAt    = column{"loaded_at", "DateTime64(3, 'UTC') DEFAULT now64(3)", "when the row was inserted", fLoadedAt}
)

// contextJSON declares the Segment spec's context fields as typed
// Nullable(String) paths: analysts read context.page.path as a String
// without a cast, the server parses them without inferring a type, and a
// field the sender left out (or sent as null) is NULL, not "". A value of
// another JSON type is stored as its JSON text, never refused.
var contextJSON = "JSON(" + strings.Join(contextPaths(), ", ") + ")"

// contextPathNames are the typed paths of the context column.
var contextPathNames = []string{"library.name", "library.version", "ip", "locale", "timezone",
	"userAgent", "page.path", "page.referrer", "page.search", "page.title", "page.url",
	"campaign.name", "campaign.source", "campaign.medium", "campaign.term", "campaign.content",
	"app.name", "app.version", "app.build", "device.id", "device.manufacturer",
	"device.model", "device.type", "os.name", "os.version"}

// contextPaths renders each typed path of the context column.
func contextPaths() []string {
	out := make([]string, len(contextPathNames))
	for i, p := range contextPathNames {
		out[i] = "`" + p + "` Nullable(String)"
	}
	return out
}

// eventColumns lays out an event table: the identity columns, the call's own
// columns, the times, the objects, the plan columns and the bookkeeping.
func eventColumns(own, objects, plan []column) []column {
	cols := []column{colMessageID, colWorkspace, colSource, colUserID, colAnonymousID}
	cols = append(cols, own...)
	cols = append(cols, colTimestamp, colOriginalTS, colSentAt, colReceivedAt, colContext)
	cols = append(cols, objects...)
	cols = append(cols, plan...)
	return append(cols, colTopic, colPartition, colOffset, colLoadedAt)
}

var planColumns = []column{colPlan, colPlanVersion}

var (
	colEvent      = column{"event", "LowCardinality(String)", "the track event's name", fEvent}
	colName       = column{"name", "String", "the page or screen name", fName}
	colCategory   = column{"category", "LowCardinality(String)", "the page or screen category", fCategory}
	colGroupID    = column{"group_id", "String", "the group the user joined", fGroupID}
	colPreviousID = column{"previous_id", "String", "the id merged into user_id (often an anonymousId)", fPreviousID}
	colProperties = column{"properties", "JSON", "the properties object as delivered (after the tracking plan's omissions)", fProperties}
	colTraits     = column{"traits", "JSON", "the traits object as delivered", fTraits}
)

// Every event table is partitioned by the month sluice received the event
// (bounded parts per insert, whatever timestamps clients send) and ordered
// for time-range scans; the bloom filters find one user's granules for
// history queries and deletes. docs/warehouse.md explains the choice.
const (
	partitionByReceived = "toYYYYMM(received_at)"
	indexUser           = "INDEX idx_user_id user_id TYPE bloom_filter(0.001) GRANULARITY 1"
	indexAnonymous      = "INDEX idx_anonymous_id anonymous_id TYPE bloom_filter(0.001) GRANULARITY 1"
)

// coreTables are the tables every sluice database has, in creation order.
var coreTables = []*table{
	{
		name: tableTracks, comment: "One row per track call.",
		columns:     eventColumns([]column{colEvent}, []column{colProperties}, []column{colPlan, colPlanVersion, colEventVer}),
		partitionBy: partitionByReceived, orderBy: "workspace, toDate(timestamp), event, user_id",
		indexes: []string{indexUser, indexAnonymous},
	},
	{
		name: tableIdentifies, comment: "One row per identify call.",
		columns:     eventColumns(nil, []column{colTraits}, planColumns),
		partitionBy: partitionByReceived, orderBy: "workspace, toDate(timestamp), user_id",
		indexes: []string{indexUser, indexAnonymous},
	},
	{
		name: tablePages, comment: "One row per page call.",
		columns:     eventColumns([]column{colName, colCategory}, []column{colProperties}, planColumns),
		partitionBy: partitionByReceived, orderBy: "workspace, toDate(timestamp), name, user_id",
		indexes: []string{indexUser, indexAnonymous},
	},
	{
		name: tableScreens, comment: "One row per screen call.",
		columns:     eventColumns([]column{colName, colCategory}, []column{colProperties}, planColumns),
		partitionBy: partitionByReceived, orderBy: "workspace, toDate(timestamp), name, user_id",
		indexes: []string{indexUser, indexAnonymous},
	},
	{
		name: tableGroups, comment: "One row per group call.",
		columns:     eventColumns([]column{colGroupID}, []column{colTraits}, planColumns),
		partitionBy: partitionByReceived, orderBy: "workspace, toDate(timestamp), group_id, user_id",
		indexes: []string{indexUser, indexAnonymous},
	},
	{
		name: tableAliases, comment: "One row per alias call.",
		columns:     eventColumns([]column{colPreviousID}, nil, planColumns),
		partitionBy: partitionByReceived, orderBy: "workspace, toDate(timestamp), user_id",
		indexes: []string{indexUser, indexAnonymous, "INDEX idx_previous_id previous_id TYPE bloom_filter(0.001) GRANULARITY 1"},
	},
	{
		name: tableUsers, comment: "The latest identify of each user (ReplacingMergeTree: query with FINAL).",
		columns: []column{
			colWorkspace,
			{"user_id", "String", "userId", fUserID},
			{"anonymous_id", "String", "anonymousId of the latest identify", fAnonymousID},
			{"traits", "JSON", "traits of the latest identify", fTraits},
			{"source", "LowCardinality(String)", "the source of the latest identify", fSource},
			{"message_id", "String", "messageId of the latest identify", fMessageID},
			{"timestamp", "DateTime64(3, 'UTC')", "when the latest identify happened", fTimestamp},
			{"received_at", "DateTime64(3, 'UTC')", "when the latest identify was received: the row's version", fReceivedAt},
			colTopic, colPartition, colOffset, colLoadedAt,
		},
		replacing: "received_at", orderBy: "workspace, user_id",
	},
}

// coreTable returns the core table of a call type's rows.
func coreTable(name string) *table {
	for _, t := range coreTables {
		if t.name == name {
			return t
		}
	}
	panic("clickhouse: no core table " + name)
}

// ddl renders the statements sluice's tables are made with.
type ddl struct {
	database string
	cluster  string
	// sharded stores each table's rows in a local table on every server
	// (localPrefix + name) behind a Distributed table of the table's name;
	// decided when the sink opens (see Config.Cluster).
	sharded     bool
	jsonType    string // "JSON" or "String"
	dedupWindow int
	purgeWithin time.Duration // see purgeSettings
	// ttl is the TTL clause of tables with source and received_at columns
	// (see Retention.ttl); "" for none.
	ttl string
}

// localPrefix names the local table under a Distributed one on a sharded
// cluster: local_tracks under tracks. A prefix rather than the usual _local
// suffix, because typed tables are track_<event> for any event: one named
// "X Local" would take the local name of track_x. No sluice table starts
// with local_.
const localPrefix = "local_"

// shardingKey spreads a sharded table's rows by user: a user's rows, and
// their users row, stay on one shard, where one user's history and a delete
// find them together. Rows without a user_id go by anonymous_id: by user_id
// alone, every anonymous event would land on the same shard.
const shardingKey = "cityHash64(if(user_id = '', anonymous_id, user_id))"

func newDDL(c Config) ddl {
	d := ddl{database: c.Database, cluster: c.Cluster, jsonType: "JSON", dedupWindow: c.DedupWindow, purgeWithin: c.PurgeWithin, ttl: c.Retention.ttl()}
	if c.JSONColumns == JSONString {
		d.jsonType = "String"
	}
	return d
}

// qualified is `database`.`name`.
func (d ddl) qualified(name string) string { return quoteIdent(d.database) + "." + quoteIdent(name) }

func (d ddl) onCluster() string {
	if d.cluster == "" {
		return ""
	}
	return " ON CLUSTER " + quoteIdent(d.cluster)
}

// storage is the table that holds a table's rows: its local table on a
// sharded cluster, else the table itself.
func (d ddl) storage(name string) string {
	if d.sharded {
		return localPrefix + name
	}
	return name
}

// createDatabase creates the database if missing.
func (d ddl) createDatabase() string {
	return "CREATE DATABASE IF NOT EXISTS " + quoteIdent(d.database) + d.onCluster()
}

// columnType is the type a column is created with: JSON per the mode.
func (d ddl) columnType(typ string) string {
	if isJSON(typ) {
		if d.jsonType == "String" {
			return "String"
		}
		return typ
	}
	return typ
}

// isJSON reports a JSON column type, with or without declared paths.
func isJSON(typ string) bool { return typ == "JSON" || strings.HasPrefix(typ, "JSON(") }

// columnClause renders a column's definition: name, type (and default),
// comment, and for JSON text a stronger codec.
func (d ddl) columnClause(c column) string { return d.columnClauseCodec(c, true) }

// columnClauseCodec is columnClause, without a codec unless codec is set.
func (d ddl) columnClauseCodec(c column, codec bool) string {
	s := quoteIdent(c.name) + " " + d.columnType(c.typ) + " COMMENT " + quoteString(c.comment)
	if codec && isJSON(c.typ) && d.jsonType == "String" {
		s += " CODEC(ZSTD(1))"
	}
	return s
}

// createStatements renders what creates t: its table, or on a sharded
// cluster its local table and the Distributed table in front of it.
func (d ddl) createStatements(t *table) []string {
	if !d.sharded {
		return []string{d.createTable(t)}
	}
	return []string{d.createTable(t), d.createDistributed(t)}
}

// createTable renders CREATE TABLE IF NOT EXISTS for the table holding t's
// rows.
func (d ddl) createTable(t *table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s%s\n(\n", d.qualified(d.storage(t.name)), d.onCluster())
	for _, c := range t.columns {
		fmt.Fprintf(&b, "    %s,\n", d.columnClause(c))
	}
	for i, idx := range t.indexes {
		b.WriteString("    " + idx)
		if i < len(t.indexes)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	if len(t.indexes) == 0 {
		// Drop the trailing comma of the last column.
		s := strings.TrimSuffix(b.String(), ",\n") + "\n"
		b.Reset()
		b.WriteString(s)
	}
	b.WriteString(")\n")
	b.WriteString("ENGINE = " + d.engine(t) + "\n")
	if t.partitionBy != "" {
		b.WriteString("PARTITION BY " + t.partitionBy + "\n")
	}
	b.WriteString("ORDER BY (" + t.orderBy + ")\n")
	if d.ttl != "" && retentionTable(t.columns) {
		b.WriteString("TTL " + d.ttl + "\n")
	}
	window := "non_replicated_deduplication_window"
	if d.cluster != "" {
		window = "replicated_deduplication_window"
	}
	// The purge settings from the start: a table's part cleanup picks up a
	// changed period only after its next, already scheduled, run.
	fmt.Fprintf(&b, "SETTINGS %s = %d, %s\n", window, d.dedupWindow, purgeSettings(d.purgeWithin, d.cluster != ""))
	comment := t.comment
	if d.sharded {
		comment = "This shard's rows of " + t.name + ": query " + t.name + ". " + comment
	}
	b.WriteString("COMMENT " + quoteString(comment))
	return b.String()
}

// createDistributed renders the Distributed table in front of t's local
// tables: it takes t's columns from the local table, sends each inserted
// row to one shard by shardingKey, and reads from every shard.
func (d ddl) createDistributed(t *table) string {
	local := d.storage(t.name)
	return fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s\nENGINE = Distributed(%s, %s, %s, %s)\nCOMMENT %s",
		d.qualified(t.name), d.onCluster(), d.qualified(local),
		quoteString(d.cluster), quoteString(d.database), quoteString(local), shardingKey, quoteString(t.comment))
}

func (d ddl) engine(t *table) string {
	name := "MergeTree"
	if t.replacing != "" {
		name = "ReplacingMergeTree"
	}
	if d.cluster != "" {
		// Replicated engines take their Keeper path and replica name from
		// the server's default_replica_path and default_replica_name.
		name = "Replicated" + name
	}
	if t.replacing != "" {
		return name + "(" + t.replacing + ")"
	}
	return name + "()"
}

// addColumnStatements renders what adds the columns to a table if missing:
// one ALTER TABLE, or on a sharded cluster one for the local tables and
// then one for the Distributed table.
func (d ddl) addColumnStatements(tableName string, cols []column) []string {
	if !d.sharded {
		return []string{d.addColumns(tableName, cols, true)}
	}
	return []string{d.addColumns(d.storage(tableName), cols, true), d.addColumns(tableName, cols, false)}
}

// addColumns renders one ALTER TABLE adding the columns if missing; without
// codecs for a Distributed table, which stores nothing.
func (d ddl) addColumns(tableName string, cols []column, codecs bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ALTER TABLE %s%s", d.qualified(tableName), d.onCluster())
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    ADD COLUMN IF NOT EXISTS " + d.columnClauseCodec(c, codecs))
	}
	return b.String()
}

// modifyColumnStatements renders what retypes the columns of a table: one
// ALTER TABLE … MODIFY COLUMN, or on a sharded cluster one for the local
// tables and then one for the Distributed table.
func (d ddl) modifyColumnStatements(tableName string, cols []column) []string {
	if !d.sharded {
		return []string{d.modifyColumns(tableName, cols, true)}
	}
	return []string{d.modifyColumns(d.storage(tableName), cols, true), d.modifyColumns(tableName, cols, false)}
}

func (d ddl) modifyColumns(tableName string, cols []column, codecs bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "ALTER TABLE %s%s", d.qualified(tableName), d.onCluster())
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("\n    MODIFY COLUMN " + d.columnClauseCodec(c, codecs))
	}
	return b.String()
}

// quoteIdent back-quotes a ClickHouse identifier.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(s) + "`"
}

// quoteString single-quotes a ClickHouse string literal.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// quoteStrings renders ids as a parenthesized list of string literals.
func quoteStrings(ids []string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteString(id))
	}
	b.WriteByte(')')
	return b.String()
}

// sameType reports whether a column of type have can hold values meant for
// want: equal types, or equal but for LowCardinality and codecs, which only
// change storage.
func sameType(have, want string) bool {
	return normType(have) == normType(want)
}

func normType(t string) string {
	t = strings.ReplaceAll(t, " ", "")
	if i := strings.Index(t, "CODEC("); i >= 0 {
		t = t[:i]
	}
	if i := strings.Index(t, "DEFAULT"); i >= 0 {
		t = t[:i]
	}
	for {
		inner, ok := strings.CutPrefix(t, "LowCardinality(")
		if !ok {
			break
		}
		t = strings.TrimSuffix(inner, ")")
	}
	return t
}
