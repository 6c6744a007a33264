package topology

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one of sluice's processes' jobs; a process runs any subset.
type Role string

// The roles, in the order Run starts them.
const (
	RoleRegulator Role = "regulator"
	RoleSink      Role = "sink"
	RoleRouter    Role = "router"
	RoleAPI       Role = "api"
)

// AllRoles are every role, in start order.
var AllRoles = []Role{RoleRegulator, RoleSink, RoleRouter, RoleAPI}

// ParseRoles reads a --roles value: a comma-separated subset of api, router,
// sink and regulator, "all" for every role, or "none" for no role. The
// result is in start order, without repeats.
func ParseRoles(s string) ([]Role, error) {
	switch strings.TrimSpace(s) {
	case "all":
		return slices.Clone(AllRoles), nil
	case "none":
		return nil, nil
	}
	want := map[Role]bool{}
	for _, part := range strings.Split(s, ",") {
		r := Role(strings.TrimSpace(part))
		if !slices.Contains(AllRoles, r) {
			return nil, fmt.Errorf("--roles: %q is not a role: want api, router, sink, regulator, all or none", part)
		}
		want[r] = true
	}
	var out []Role
	for _, r := range AllRoles {
		if want[r] {
			out = append(out, r)
		}
	}
	return out, nil
}
