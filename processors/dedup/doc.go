// Package dedup drops events whose messageId was already seen within a window
// (24 hours in the router), per Kafka partition, with state that survives a
// restart and a rebalance.
//
// # Drop, error, pass
//
// Set.Check reports duplicate=true ("drop": the same workspace+messageId was
// sighted less than a window earlier on this partition) or false ("pass").
// Every sighting, dropped or passed, restarts the key's window. Check has no error: dedup fails open,
// because a wrongly passed duplicate is absorbed by the idempotent sinks
// (DESIGN guarantee 4) while a wrongly dropped event is lost. Decoding a
// snapshot is the one operation that returns errors.
//
// # State
//
// A Set holds, for one partition, a 64-bit hash of workspace+messageId and
// the second it was last sighted, in a pointer-free open-addressing table
// (12 bytes per slot, at most 3/4 full, so 16–32 bytes per remembered event).
// Time is the record's time (its Kafka timestamp or receivedAt), never the
// wall clock, so replaying a partition rebuilds exactly the same answers.
// Entries older than the window are removed by Expire, and automatically when
// the table fills, before it grows.
//
// A false duplicate needs two messageIds of one partition with equal 64-bit
// hashes inside one window: with n remembered events the chance per event is
// n/2^64 (about 5e-13 at n = 10 million). Hashes are seeded per Set, so
// senders cannot craft messageIds that collide or pile into one probe chain.
//
// # Surviving restart and rebalance (recommended: replay)
//
// The router processes partitions independently; give each assigned
// partition its own Set, owned by that partition's worker (a Set is not safe
// for concurrent use). On assignment, rebuild it by re-reading the partition
// from the offset at (committed record's time − window) up to the committed
// offset, calling Check for every record as live processing would. Because a
// window runs from the latest sighting, every later answer depends only on
// the records of the last window, so the rebuilt Set answers exactly as the
// lost one (given record times that rise along the partition; a little
// disorder only widens the window). This
// needs no extra topic and no coordination, only that events.raw retains at
// least one window. Its cost is one window of the partition read at consume
// speed; bound it with the retention or a shorter window.
//
// MarshalBinary/UnmarshalBinary are the fast path for a restart on the same
// machine: write a snapshot with the offset it covers to the data directory
// at commit, restore it, then replay from that offset. A snapshot is 12 bytes
// per entry, too large for one Kafka record at production sizes, which is
// why a compacted changelog topic is not the recommended store.
package dedup
