// Package suppress is the router's suppression stage and the tables behind it:
// who is suppressed (Table) and which anonymousIds belong to which userId
// (Identities). It carries DESIGN guarantee 1 (suppression holds) and, through
// Ready, guarantee 2 (tables before traffic).
//
// # Drop, error, pass
//
// Stage.Decide answers suppressed=true ("drop") when the event's userId is
// suppressed, its anonymousId is suppressed, its anonymousId is linked to a
// suppressed userId, or a table is not yet caught up (ReasonNotReady: the stage
// fails closed). It answers false ("pass") otherwise. It has no error result:
// every doubt is a drop with a reason the caller counts.
//
// # Record formats (the contract the regulator writes)
//
// Topic "suppressions" (compacted):
//
//	key:   <workspace>/<subjectType>/<subjectId>    e.g. acme/USER_ID/u-42
//	value: {"regulationId":"r1","subjectType":"USER_ID","subjectId":"u-42","at":"2026-01-02T03:04:05Z"}
//	       nil value (tombstone) = unsuppressed
//
// subjectType is USER_ID or ANONYMOUS_ID; the workspace holds no "/"; the
// subject id is everything after the second "/" (it may hold "/"). Key and
// EncodeRecord build both halves. Table.Apply reads only the key: any non-nil
// value suppresses, so a value that is damaged or from a newer writer still
// suppresses (fail closed). The value is for audit and for people.
//
// Topic "identities" (compacted):
//
//	key:   <workspace>/<anonymousId>                 e.g. acme/anon-7
//	value: {"userId":"u-42","at":"2026-01-02T03:04:05Z"}
//	       nil value (tombstone) = no longer linked
//
// # Tables: pointer-free, hashed
//
// Both tables store 96-bit fingerprints of "<workspace>/<subjectType>/<id>"
// (a 64-bit seeded hash plus 32 bits of a second, differently seeded one) in
// open-addressing arrays with linear probing: no pointers for the garbage
// collector to scan. Each slot has a control byte (empty, deleted, or full
// with 7 bits of the hash), so a probe reads the dense control array and
// touches the fingerprint arrays only on a tag match: a lookup that misses,
// the common case, costs one random memory access. A slot takes 13 bytes in
// Table (25 in Identities) and tables are at most 3/4 full, so ten million
// subjects take about 220 MB. The arrays are split into 256 shards, each with
// its own RWMutex: readers of one shard never wait for a writer on another,
// and a growing shard copies only its own 1/256 of the table.
//
// Seeds are random per process (NewHasher), so nobody can craft ids that
// pile into one probe chain; tables are rebuilt from their topics at start
// and never persist hashes.
//
// # Why collisions fail closed
//
// A fingerprint stands for its subject. When an id that is not suppressed
// shares all 96 bits with one that is, Suppressed reports true and the event
// is dropped: a false drop, never a false pass. With n suppressed subjects the
// chance per lookup is n/2^96 (about 1e-22 for n = 10 million). The one way a
// collision could let an event through is a tombstone for subject A removing a
// fingerprint that a still-suppressed subject B shares: that needs two
// suppressed subjects with equal 96-bit fingerprints, about n²/2^97 (under
// 1e-15 for n = 10 million) per table, which is why 32 check bits are kept
// beside the 64-bit hash rather than the hash alone (n²/2^65, about 3e-6).
//
// # Readiness
//
// A table answers lookups only after MarkCaughtUp, which its loader calls once
// it has applied every record up to the end offsets it read at start. Before
// that, lookups return ErrNotReady, and Stage.Decide drops with
// ReasonNotReady. Topology should not call the stage before both tables are
// ready (guarantee 2); the error is the backstop, so nothing fails open.
//
// # Concurrency
//
// Apply may be called from any number of goroutines (normally one: the
// loader following the topic). Lookups may run concurrently with Apply from
// any number of goroutines (the router's partition workers, the sinks).
package suppress
