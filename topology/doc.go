// Package topology wires sluice's roles: it is the only place that connects
// stages, consumer groups, offsets and shutdown.
//
// Each role is built on its own from a cluster connection (cluster.Conn) and
// the workspace config, so a process may run any subset of them and `sluice
// dev` wires the very same pieces as `sluice run`:
//
//	api        tracking API, admin API (tracking plans, regulations, export)
//	router     the router group on events.raw
//	sink       one delivery engine (consumer group) per destination
//	regulator  carries out regulations
//
// Run starts the chosen roles after checking that every topic they use
// exists with its cleanup policy, serves /metrics, /healthz and /readyz, and
// on cancellation stops them in the documented order. No role assumes it is
// alone: every one is a member of a consumer group or stateless.
//
// The values of the stream topics are sealed with per-subject data keys
// (package processors/shred, docs/encryption.md). Run takes the KEKs from
// Config.Keyring or from the workspace's encryption section, and refuses to
// start roles without either, unless the section says disabled.
//
// The package does not import testenv: the embedded broker and the local
// ClickHouse engine belong to the dev wiring (topology/dev) only.
package topology
