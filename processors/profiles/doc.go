// Package profiles keeps each user's profile: the traits of all their
// identify calls merged, as the compacted profiles topic holds them.
//
// # Merging
//
// An identify call's traits are merged into the profile at the top level:
// each trait it names replaces the stored value of that trait (null
// included), other stored traits stay. Nested objects are replaced whole, not
// merged. Calls merge in the order the router processes them, which is the
// order of the user's events on their events.raw partition; client
// timestamps do not reorder them.
//
// # Record format (topic "profiles", compacted)
//
// Key "<workspace>/<userId>". Value JSON:
//
//	{"traits":{…merged…},"updatedAt":"<timestamp of the latest identify>","source":"<its source>"}
//
// A tombstone deletes the profile (regulations do this).
//
// # Exactly once
//
// Store holds the committed profiles (followed from the topic) and, on top,
// the profiles merged in the router's open transaction. Commit makes them
// committed, Abort forgets them, so a batch that is retried after an abort
// merges onto the same profiles as the first attempt did.
package profiles
