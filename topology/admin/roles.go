package admin

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is what an admin route lets its caller do. Each admin route declares
// one (api.Route.Scope); a route without a scope is open to the bootstrap
// token only.
type Scope string

// Scopes of the admin routes.
const (
	// ScopeRegulationsFile files regulations: POST /v1/regulations.
	ScopeRegulationsFile Scope = "regulations:file"
	// ScopeRegulationsRead reads and lists regulations: their status,
	// steps, receipts and subject ids.
	ScopeRegulationsRead Scope = "regulations:read"
	// ScopeExport exports a person's data: GET /v1/users/{id}/export.
	// It returns personal data, so no read-only role has it.
	ScopeExport Scope = "export"
	// ScopePlansPublish publishes tracking-plan versions.
	ScopePlansPublish Scope = "plans:publish"
	// ScopePlansRead reads tracking plans and their versions.
	ScopePlansRead Scope = "plans:read"
	// ScopeDeadLetters lists and replays dead letters (package
	// topology/deadletters); a listing may show their payloads.
	ScopeDeadLetters Scope = "deadletters"
	// ScopeTopics inspects and manages sluice's topics (routes to come).
	ScopeTopics Scope = "topics"
)

// Role is what a token's holder is trusted with: a fixed set of scopes.
type Role string

// Roles a token can be created with.
const (
	// RolePrivacy is for privacy and legal staff: regulations and exports.
	RolePrivacy Role = "privacy"
	// RoleSchema is for schema owners: tracking plans.
	RoleSchema Role = "schema"
	// RoleOperator is for the data team: dead letters and topics.
	RoleOperator Role = "operator"
	// RoleViewer reads regulations and plans; it never exports, which
	// returns personal data.
	RoleViewer Role = "viewer"
)

// RoleBootstrap is the role of the bootstrap token (--admin-token): every
// scope. No token can be created with it.
const RoleBootstrap Role = "bootstrap"

// Roles lists the roles a token can be created with, in the order docs list them.
var Roles = []Role{RolePrivacy, RoleSchema, RoleOperator, RoleViewer}

// grants is the one place that says which role may do what.
var grants = map[Role][]Scope{
	RolePrivacy:  {ScopeRegulationsFile, ScopeRegulationsRead, ScopeExport},
	RoleSchema:   {ScopePlansPublish, ScopePlansRead},
	RoleOperator: {ScopeDeadLetters, ScopeTopics},
	RoleViewer:   {ScopeRegulationsRead, ScopePlansRead},
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// ParseRole reads a --role value.
func ParseRole(s string) (Role, error) {
	r := Role(strings.TrimSpace(s))
	if !r.Valid() {
		return "", fmt.Errorf("role %q: want one of %s", s, joinRoles(Roles))
	}
	return r, nil
}

// Scopes returns what r may do; none for an unknown role.
func (r Role) Scopes() []Scope {
	if r == RoleBootstrap {
		return slices.Sorted(func(yield func(Scope) bool) {
			seen := map[Scope]bool{}
			for _, rr := range Roles {
				for _, s := range grants[rr] {
					if !seen[s] && !yield(s) {
						return
					}
					seen[s] = true
				}
			}
		})
	}
	return slices.Clone(grants[r])
}

// Allows reports whether r may use a route of scope s. The bootstrap role
// may use every route, also those that declare no scope; others never may.
func (r Role) Allows(s Scope) bool {
	if r == RoleBootstrap {
		return true
	}
	return s != "" && slices.Contains(grants[r], s)
}

// RolesFor lists the roles that may use a route of scope s, for the 403
// answer that tells the caller which role to ask for.
func RolesFor(s Scope) []Role {
	var out []Role
	for _, r := range Roles {
		if r.Allows(s) {
			out = append(out, r)
		}
	}
	return out
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}
