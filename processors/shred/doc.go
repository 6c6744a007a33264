// Package shred is crypto-shredding for sluice's stream topics (events.raw,
// dest.*, violations, deadletter): every record value there is sealed with a
// data key of its subject, the data key is kept only in the compacted keys
// topic, wrapped by a key-encryption key (KEK) from the config, and deleting
// a subject tombstones its data keys, which makes every copy of its records
// unreadable at once, whatever the topics' retention (DESIGN guarantee 3).
//
// # Subjects
//
// An event's subject is its workspace and userId, or its anonymousId when it
// has no userId: the id its Kafka key carries (SubjectOf). Records that name
// no subject (the api's dead letters of refused request bodies) belong to
// the Unattributed subject of their UTC day (UnattributedOn).
//
// # The keys topic (compacted)
//
//	key:   <workspace>/<type>/<key id: 32 hex>/<subject id>   e.g. acme/USER_ID/3f…a1/u-42
//	value: {"kek":"k1","dek":"<base64 of nonce ‖ AES-256-GCM(KEK, data key) ‖ tag>","at":"…"}
//	       nil (tombstone) = the data key is shredded
//
// type is USER_ID, ANONYMOUS_ID or UNATTRIBUTED. The wrap's additional data
// is the record key and the KEK id, so a wrapped key moved under another
// subject or KEK does not unwrap. DESIGN keys the topic by workspace and
// subject; the key id is added to that key so that each data key is a
// record of its own, for the reason below.
//
// # Why several API processes converge
//
// A subject's first event may reach two API processes at once; both create
// a data key before acknowledging it. Rules that pick one winner per subject
// record ("the first value after the last tombstone wins") break on
// compaction, which keeps the last value of a key, not the first: the losing
// process would have to write the winner again after its own record, and a
// crash between the two writes leaves the loser last, so compaction deletes
// the winner and with it every event sealed under it. Deriving the key
// deterministically (say from the KEK and the subject) would make every
// process agree, but then a tombstone shreds nothing: anyone with the KEK
// derives the key again.
//
// So every data key is its own record, keyed by its random key id, and every
// envelope names the key id it was sealed with. Two processes that race
// write two records; both are valid, compaction keeps both (different keys),
// and readers open each envelope with the key it names. Convergence is not
// needed for correctness: there is nothing to agree on. It only bounds the
// number of keys: the api follows the keys topic as a table (caught up before
// it creates any key) and reuses a subject's live key, so a subject gets a
// second key only when two processes see its first event within the
// follower's latency, and none across restarts. A process's own concurrent
// requests share one creation (Creator).
//
// A key is written (acks=all) before any envelope sealed under it is
// produced, so a reader that has caught up with the keys topic to end
// offsets read after it polled an envelope holds the envelope's key, unless
// the key was shredded since.
//
// # The envelope (record values of the stream topics)
//
//	0x00 'S' 'H' 0x02 | key id (16) | nonce (12) | AES-256-GCM(payload) ‖ tag (16)
//	payload: codec (1) | the value: 0 = stored, 1 = s2 block with the segment-v1 dictionary
//
// The first 20 bytes are the additional data; nonces are random (one data
// key seals far fewer than the 2^32 values random 96-bit nonces allow).
// Sealed values do not compress, so Kafka's batch compression cannot shrink
// them: the value is compressed before it is sealed. One event alone
// compresses little (about 1.2× with s2), what a batch shares (field
// names, libraries, user agents) is missing; a dictionary of the Segment
// spec's vocabulary and sluice's record shapes (segment-v1.dict, frozen:
// a better one is a new codec) supplies it: sealed, an event takes about
// half its bytes in clear (TestSealCompresses). A value under 32 bytes, or
// one that does not shrink, is stored (49 bytes longer sealed, the most
// sealing adds). A
// compressed payload may declare at most 4 MiB; a larger value is stored,
// and an envelope declaring more does not open, so no envelope makes a
// reader allocate more. Version 1 envelopes (the value sealed as it is,
// 48 bytes longer; written before version 2) still open.
//
// # What stays readable without the key
//
// The record key (workspace/userId or workspace/anonymousId, in clear as
// DESIGN's topic contract has it), the record timestamp (receivedAt), the key
// id (random: it links the records of one subject, as the record key already
// does), and the value's length. Everything else, messageId, source, event
// timestamps, properties, traits, context, the dead letters' reasons and
// bodies, is inside the ciphertext. The partition key is kept in clear:
// keying by user is what keeps a user's events in order on one partition,
// any reader of the topics (consumers, tools) relies on it, and the id alone
// carries no payload. Pseudonymizing it (an HMAC under a workspace secret)
// would keep partitioning per user but needs a secret that never rotates;
// it is left for later.
//
// # Readers fail closed
//
// A Table follows the keys topic; it answers only after MarkCaughtUp (the
// router and the sinks catch it up with their other tables, DESIGN guarantee
// 2). An envelope whose key is not live after catch-up (ErrShredded) or
// cannot be unwrapped (ErrUnwrappable) is dropped and counted, never
// delivered and never dead-lettered; a value that is not an envelope
// (ErrNotSealed) is dropped the same way.
//
// # Shredding
//
// The regulator tombstones every key of a deleted subject: the userId's, and
// those of every anonymousId linked to it. A Table remembers the key ids it
// saw tombstoned: a value written for one later (a re-wrap that lost a race
// with the shred, below) never makes it live again, Resurrected lists it,
// and the regulator tombstones it again.
//
// Events accepted after the regulation was filed are new data: a process
// that seals a subject's event under a key before it has applied that key's
// tombstone writes an envelope nobody can open (the event is dropped, as if
// deleted with the rest); once it has applied the tombstone, the subject's
// next event gets a new key.
//
// Records without a subject are sealed under their day's Unattributed key.
// The regulator shreds a day's key once the streams' retention has passed
// for the day's last record (the end of the day plus the retention), and
// every DELETE* regulation shreds every Unattributed key that exists when
// its keys step runs: a refused body may hold anyone's data, and no
// deleted person may stay readable in it. The cost: the api's dead letters
// become unreadable at the next deletion; they are diagnostics of refused
// input, never replayed.
//
// # KEK rotation
//
// A Keyring has several KEKs by id; Current wraps every new key, the others
// only unwrap. To rotate: add the new KEK to every process and make it
// current; old keys still unwrap with the old KEK. The regulator re-wraps
// every live key not under the current KEK (Table.Rewrap: same key id, same
// data key, new wrap) and reports how many are left per KEK (Stats.ByKEK).
// Once none is left under the old KEK, remove it from the config and destroy
// its secret. A key record still under a removed KEK cannot be unwrapped:
// its envelopes are dropped (ErrUnwrappable), never read in clear.
//
// A re-wrap writes a value for an existing key id, so it could bring back a
// key shredded between the re-wrapper's read and its write. Tables never
// accept a value for a key id they saw tombstoned, and the regulator, which
// follows the topic, tombstones such a key again at once. The one gap: no
// regulator running from the race until compaction has dropped the first
// tombstone (at least topics.compaction.segment).
//
// # Limits
//
// Every router, sink, api and regulator process keeps every live data key in
// memory (about 300 bytes per key with a short subject id, measured), and
// the ids of keys shredded while it ran (about 50 bytes each). Ciphers are
// built on demand (about 1µs) and cached for 16,384 keys (direct-mapped,
// about 1.3 KB each: at most 21 MB per table); a cached cipher is found
// without the table's lock.
//
// Compression before sealing recovers part of what Kafka's batch
// compression saved in clear, not all: a sealed record of the bench takes
// about 4× the bytes its event took in a snappy batch (docs/encryption.md
// has the figures). Compressing costs about 2µs per value, half of it s2's
// dictionary encoder clearing its 64 KiB hash table on every call.
package shred
