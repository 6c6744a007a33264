// Package regulator carries out data-subject regulations (DESIGN
// "Regulations"): the admin API that files them (NewHandler), the compacted
// regulations topic that holds them, and the regulator role (Service.Run)
// that deletes the subjects' data across Kafka and ClickHouse and forwards
// deletions to destinations. docs/regulations.md is the page for
// privacy and legal staff.
//
// # Filing
//
// POST /v1/regulations checks the body (DecodeBody) and files it (Create).
// SUPPRESS_ONLY, SUPPRESS_WITH_DELETE and SUPPRESS_WITH_DELETE_INTERNAL
// write one suppression record per subject to the suppressions topic
// (idempotent producer, acks=all) and answer {id} only after the broker has
// acknowledged every one: from the answer on, DESIGN guarantee 1 holds,
// because the router and the sinks check the suppressions table, which
// follows that topic. UNSUPPRESS writes tombstones the same way, and for a
// userId also for the anonymousIds suppressed on its behalf (below). The
// regulation record is written last, so a regulation that exists has its
// suppression in place. An Idempotency-Key is hashed into the id, so that a
// retry through any API process finds the regulation filed before.
//
// # The regulations topic
//
// Key: the regulation id. Value: the Regulation as JSON (request, overall
// status, per-destination {name, status, error, finishedAt} with receipts,
// steps, attempts, and the resumable Progress). Each write bumps Revision;
// readers keep the highest revision, so a late copy never undoes progress.
// The API process writes a regulation once; afterwards only the regulator
// that owns it does. Regulators join the consumer group OwnerGroup on this
// topic (without consuming it): a regulation belongs to the regulator that
// holds its record's partition, so several regulators split the work and a
// dead one's regulations move to the others.
//
// # Carrying out a DELETE* regulation
//
// The regulator takes pending regulations in batches (BatchMaxSubjects ids)
// through five steps, writing each outcome to the topic before the next
// step, so that a regulator killed at any point resumes where the topic says
// and repeats at most one step, and every step is idempotent:
//
//  1. in-flight: resolve the anonymousIds linked to USER_ID subjects through
//     the identities topic (saved in Progress.Linked), and, for suppressing
//     types, suppress them on the userId's behalf; then wait for the rows in
//     flight (below).
//  2. topics: tombstones for the subjects in profiles and consent, and for
//     the linked anonymousIds in consent and identities.
//  3. keys: tombstones in the keys topic for every data key of the subjects
//     and of the linked anonymousIds, and for every unattributed day key
//     (keys.go): every copy of their events in events.raw, dest.*,
//     violations and deadletter becomes unreadable at once (crypto-
//     shredding, package processors/shred). The receipt counts the keys
//     (keysShredded) and says when. NOT_SUPPORTED when encryption is disabled.
//  4. destinations: one sinks.Deleter Delete call per destination for the whole
//     batch: the internal ones (sluice's ClickHouse) always, the others
//     (webhook deleteUrl, Kafka tombstones) unless the type is *_INTERNAL.
//  5. clickhouse: count the subjects' rows in every table of the Warehouse
//     (user_id, anonymous_id, and an alias's previous_id; every shard);
//     rows left are deleted and counted again; only zero rows in every
//     table finishes the step.
//
// A failed step is retried with exponential backoff (MinBackoff doubling to
// MaxBackoff) up to MaxAttempts; a destination refusing permanently is
// FAILED at once. The overall status is FINISHED when every step and every
// deletion-capable destination finished, PARTIAL_SUCCESS when a destination
// failed and the rest succeeded, FAILED when one of sluice's own steps
// failed.
//
// Why linked anonymousIds are suppressed before their links are deleted:
// the suppression stage drops an anonymous event when its anonymousId is
// linked to a suppressed userId. Tombstoning the link alone would end that,
// so for suppressing types the anonymousId gets a suppression record of its
// own first (value field linkedUserId), and only after the in-flight wait,
// which outlasts every sink batch formed before that suppression, is the
// link tombstoned. UNSUPPRESS of the userId lifts those suppressions too.
//
// # Rows in flight
//
// A delete is FINISHED only when no row of the subject can still arrive.
// The argument, for an event E of subject S accepted before the regulation
// was filed at time F:
//
//  1. The API answers 2xx only after E is in events.raw (guarantee 4). The
//     regulator reads the end offsets R of events.raw at its first pass, at
//     or after F, and saves them in the regulation; so E's offset is below R
//     on its partition.
//  2. It waits until the router group (RouterGroup) has committed offsets at
//     or past R on every partition. The router commits its input offsets in
//     the same transaction as its outputs, so everything E produced (its
//     dest.<name> records, its identities and profile updates) is committed.
//  3. Only then it reads the end offsets D of every dest.<name> topic it
//     will delete at, and saves them. E's routed records are below D.
//  4. It waits until each destination's sink group (SinkGroupPrefix+name)
//     has committed offsets at or past D. A sink commits only after
//     delivering (STYLE: commit after every output is acknowledged), so E's
//     row is in ClickHouse, or at the webhook, or was dropped by the sink's
//     re-check. On a sharded cluster the row is in its shard's table, not
//     queued: inserts into the Distributed tables wait for the shards.
//  5. Only then it tombstones, deletes, and counts: E's row is among those
//     deleted and counted.
//
// Events accepted after F are new data. For DELETE_ONLY and DELETE_INTERNAL
// they may legitimately arrive (the subject is not suppressed). For the
// SUPPRESS_WITH_DELETE types, the suppression was acknowledged before F, so
// any such event is dropped by the router or, if the router's table lagged,
// by the sink's re-check at delivery (guarantee 1: the sink's suppression
// table is caught up to a point after the batch was formed); no row of S
// arrives after the delete.
//
// Two details make the waits exact. End offsets are high watermarks, not
// last stable offsets: with two producers' transactions interleaved on a
// partition, a committed transaction's records can lie above the start of
// another's open transaction, so the last stable offset would miss them. And
// a group counts as past an end offset also when everything between its
// committed offset and the end is transaction markers or aborted records
// (read back with a read-committed consumer): a consumer commits the offset
// after its last record, which leaves the commit marker that ends a
// transaction below the high watermark until more records come. A group
// that never committed is behind; a missing topic has nothing in flight.
//
// While it waits, the in-flight step's detail names the group it waits for.
// The wait cannot finish while the router or a sink is down: that is the
// point; the regulation stays RUNNING and says so.
//
// # Limits
//
// The regulator keeps the workspace's identities (anonymousId → userId) in
// memory, as the router does, and with a keyring every data key of the keys
// topic (package processors/shred's Limits). UNSUPPRESS of userIds and exports read whole
// topics (suppressions, identities); exports read profiles and consent only
// on the partitions of the subject's keys. ClickHouse deletes put the
// batch's ids inline in one statement per table, with max_query_size raised.
package regulator
