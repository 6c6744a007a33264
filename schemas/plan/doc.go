// Package plan reads, checks, compares and serializes tracking plans.
//
// A plan is a directory kept in git: a manifest (plan.yaml, or plan.json with
// the same fields) naming the plan, its owners, its policy and which Avro
// record schema (.avsc) describes each track event version and the identify
// traits, group traits, page and screen properties. Every other .avsc file is
// a library of shared named types (records, enums, fixed) that schemas refer
// to by name. docs/tracking-plans.md describes the format in full.
//
// Check loads and checks a plan (every schema is also parsed by goavro, the
// reference for valid Avro); Diff lists what changed between two plans;
// CheckCompatibility says whether a new plan may replace the previous one;
// Version is the document published to the tracking-plans topic.
//
// Compatibility is judged on the JSON that clients send, not on Avro binary
// encoding: a schema B can read what schema A accepted when every JSON value
// valid under A is valid under B. Names of named types carry no meaning in
// JSON and are ignored; recursive types are refused because warehouse columns
// are derived from the types.
package plan
