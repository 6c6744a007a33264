// Package planstore publishes tracking-plan versions to the compacted
// tracking-plans topic and reads them back: the admin side (Publish, List,
// Show, and the /v1/tracking-plans HTTP handler) and the live side (Reader,
// which follows the topic and feeds a validate.Validator so that routers
// take new versions without a restart, and answers for every version it has
// read so that sinks can type events judged by an older one).
//
// Each record is one plan version: key "name/version" (plan.Key), value the
// plan.Version document. A tombstone withdraws a version; the reader then
// falls back to the highest remaining one. Versions are numbered 1, 2, …
// per plan; Publish assigns the next number.
//
// Publishing is meant to be serialized (one CI job or one admin at a time):
// two concurrent publishes of one plan may pick the same version number.
// Publish detects that after writing and returns ErrConflict; the last
// write of the key is the one compaction keeps.
package planstore
