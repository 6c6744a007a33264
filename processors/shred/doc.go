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
//	0x00 'S' 'H' 0x01 | key id (16) | nonce (12) | AES-256-GCM ciphertext ‖ tag (16)
//
// The first 20 bytes are the additional data; nonces are random (one data
// key seals far fewer than the 2^32 values random 96-bit nonces allow). A
// value is 48 bytes longer sealed.
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
// about 1.3 KB each: at most 21 MB per table).
//
// Sealed values do not compress, so Kafka's batch compression no longer
// shrinks the stream topics: they take several times the bytes on the wire
// and on disk. Compressing each value before sealing saves little on one
// event (about 20% with s2) unless a shared dictionary is used.
package shred
