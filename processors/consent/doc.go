// Package consent decides whether an event may reach a destination under the
// user's consent (DESIGN guarantee 5), and keeps each user's last known
// consent from the compacted consent topic.
//
// # Allow, deny, error
//
// Decide allows ("pass") or denies ("drop" for that destination) and names
// the rule that decided: DecisionUnmapped (a destination without categories
// receives everything), DecisionEvent (the event's
// context.consent.categoryPreferences), DecisionStored (the user's last known
// consent, used only when the event has none), DecisionWhenMissing (neither:
// the workspace's whenMissing, deny by default). A mapped destination is
// allowed only when every one of its categories is granted; a category absent
// from the preferences, or with any value but true, is not granted.
//
// Errors never open the gate: EventPrefs and Store.Lookup return, beside any
// error, preferences that grant nothing, so a caller that ignores the error
// still denies every mapped destination.
//
// # Record format (topic "consent", compacted)
//
//	key:   <workspace>/<subjectType>/<id>            e.g. acme/USER_ID/u-42
//	value: {"categoryPreferences":{"analytics":true,"advertising":false},
//	        "capturedAt":"2026-01-02T03:04:05Z","source":"web"}
//	       nil value (tombstone) = consent forgotten (a deletion)
//
// subjectType is USER_ID or ANONYMOUS_ID, as in the suppressions topic, so a
// consent banner answered before login counts for the anonymousId. The
// router writes a record for each "Segment Consent Preference Updated" event
// (RecordFromEvent); the latest record per key wins, as compaction keeps it.
//
// # Consent follows identity
//
// The Store also follows the identities topic (ApplyLink, fed by the same
// follower as suppression's identities): anonymousId → userId links. When
// neither of an event's own ids has a record, Lookup takes the latest
// record of the anonymousIds linked to its userId, or for an anonymousId
// linked to a userId, that userId's record and then its other
// anonymousIds'. A userId's own record always wins over linked ones: links
// fill gaps, they never widen what the person decided while identified.
// Each user's linked consent is resolved when a record or a link changes,
// so a lookup is one map read. docs/destinations.md states the rules.
//
// # Categories as bits
//
// A workspace has at most 64 consent categories (config consent.categories);
// Categories numbers them, so preferences and destinations are 64-bit masks
// and a decision is one AND. Categories outside the workspace's list cannot
// matter to any destination and are ignored by masks (records keep them).
package consent
