// Package admin holds the admin API to account: personal tokens with roles,
// and an append-only audit trail of every admin action.
//
// # Tokens and roles
//
// Each person gets a token of their own, created with `sluice tokens create
// --holder H --role R` and revoked with `sluice tokens revoke ID`. The token
// is shown once; the compacted admin-tokens topic keeps its SHA-256 with its
// holder and role (see Token for why no slow hash is needed). API processes
// follow the topic as a table (tables.Follower) and, before they judge a
// personal token, catch it up to the topic's end: a token works on every
// API process as soon as `create` returns, and stops working on every one as
// soon as `revoke` returns. When the table cannot be caught up, requests
// with a personal token are answered 503 (fail closed).
//
// A role is a fixed set of scopes, and each admin route declares the scope
// it needs (api.Route.Scope): grants in roles.go is the one table of who may
// do what. The bootstrap token (--admin-token) has every role and the
// holder "bootstrap", so that `sluice dev` and a first deployment work
// before any token exists.
//
// # The audit trail
//
// The Guard records every admin request that carries a known token in the
// audit topic (a stream kept topics.AuditRetention): a begin record before
// the handler runs, and an end record with the outcome. If the begin record
// cannot be written, the request is answered 503 and nothing is done (fail
// closed); an end record that cannot be written is logged, its begin record
// standing for the action. A record says who (holder, token id, role), when,
// from where (the connection's peer address; behind a proxy the api role
// trusts, --trusted-proxy, the client address it forwarded, and the proxy),
// what (method, route pattern, regulation type and id,
// plan), whose data (subject type and ids of a filing or an export) and how
// it ended (status; rows of an export). It holds no request body, no answer
// body and no event payload.
//
// The CLI writes each token and its audit record in one transaction, so that
// no token exists unrecorded. The regulations store reports regulations
// erased from its topic (a tombstone, or a record sluice cannot read, which
// compaction would keep instead of the regulation): RegulationErased records
// them. Kafka does not say who wrote a record; topics.ACLs restricts who can.
package admin
