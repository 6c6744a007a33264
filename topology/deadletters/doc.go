// Package deadletters lists the deadletter topic and replays a
// destination's dead letters back to its dest.<name> topic, behind the admin
// API's routes GET /v1/deadletters and POST /v1/deadletters/replay (scope
// deadletters, role operator; docs/deadletters.md).
//
// # What the topic holds
//
// Three roles write it, each value sealed (package processors/shred): the
// sink (topology/delivery) an event a destination refused for good or whose
// retries ran out, with the destination, reason and error, sealed under the
// event's data key and keyed like the event; the router an events.raw record
// it could not process, sealed the same way, unkeyed; the api refused input,
// sealed under its day's unattributed key, unkeyed. A letter whose key is
// shredded cannot be opened: it is counted by why (shred.Reason), never
// shown. Its destination is inside it, so a replay counts the shredded
// letters that carry a key (only sink letters do) in its time range, of any
// destination.
//
// # Replay: through the privacy re-check, at most once
//
// A replay re-produces each selected sink letter's event to dest.<name>
// with the record key it had and sealed under the key id its letter names,
// so it lands on its person's partition, in order, and a later shred of
// that key makes it unreadable like every other copy. The sink engine then
// delivers it as any record: suppression, consent and keys are checked
// right before every write. The replay checks suppression (and the key)
// itself too, on tables read to the end of their topics after the replay
// started, so a suppressed person's events are not even re-produced.
//
// The replayed records, markers naming the letters replayed (unsealed
// records on the deadletter topic holding letter ids only) and the replay's
// audit record are written in one Kafka transaction: a replay either
// happened entirely, recorded, or not at all. A later replay reads the
// markers and leaves replayed letters alone unless asked (Again), so a
// second replay of the same range re-delivers nothing.
//
// Two replays of one destination could both read "not replayed" before
// either commits. Each uses the transactional id sluice-replay-<destination>
// and initializes it before it reads the markers: the broker fences the
// earlier holder, aborting its open transaction or first completing a
// commit already under way. So of two replays
// that overlap, the later one reads every marker the earlier committed, and
// the earlier one, if it has not committed yet, cannot commit any more
// (ErrConcurrentReplay): no letter is replayed twice without Again.
//
// Each call reads the topics from their start and keeps nothing: any API
// process can serve any call.
package deadletters
