// Package filter applies a destination's filters to an event, in Segment's
// order whatever the order of the configuration: sample → drop when an
// expression holds → drop properties → allow properties.
//
// # Keep, drop, error
//
// Chain.Apply returns a Result. Keep=true ("pass") carries the properties to
// deliver, edited or, when no edit applied, the very input slice. Keep=false
// ("drop" for this destination) names why: ReasonSampledOut,
// ReasonDropped (the expression held), ReasonExpressionError (the expression
// failed to evaluate or did not give a boolean), ReasonPropertiesError (the
// properties are not a JSON object, so a property filter cannot be applied).
// The two error reasons fail closed: the event is dropped and Result.Err says
// why, for the caller to count and log.
//
// # Expressions
//
// Drop expressions use github.com/expr-lang/expr, compiled once per filter by
// Compile. Their environment is: event, type, userId, anonymousId, messageId
// (strings, "" when absent) and properties, context, traits (objects decoded
// from the event's JSON, nil when absent). Only the objects an expression
// names are decoded for it. An unknown name is a compile error, so a typo
// fails at configuration time rather than dropping traffic.
//
// # Sampling
//
// A sample filter keeps Percent of events by hashing the value at Path
// (userId, anonymousId, messageId, event, type, or a dotted path under
// properties, context or traits): one value is always kept or always dropped,
// on every router, across restarts. With no Path, or when the event has no
// value there, the messageId is hashed instead: a random choice per event
// that a redelivered event repeats. Several sample filters hash the same
// value, so the smallest percentage wins.
//
// # Property paths
//
// dropProperties and allowProperties take top-level names or dotted paths
// into nested objects ("address.street"); a key that itself contains a dot
// cannot be named. Dropping a path removes that member wherever the path
// exists. Allowing a path keeps only that member inside its parent: members
// on no allowed path are removed, and a parent that is not an object where
// the path goes deeper is removed too.
package filter
