package admin

import (
	"slices"
	"testing"
)

// The grants table as the docs state it: a change to who may do what must
// change this test too.
func TestRolesGrantExactlyTheirScopes(t *testing.T) {
	all := []Scope{ScopeRegulationsFile, ScopeRegulationsRead, ScopeExport, ScopePlansPublish, ScopePlansRead, ScopeDeadLetters, ScopeTopics}
	want := map[Role][]Scope{
		RolePrivacy:  {ScopeRegulationsFile, ScopeRegulationsRead, ScopeExport},
		RoleSchema:   {ScopePlansPublish, ScopePlansRead},
		RoleOperator: {ScopeDeadLetters, ScopeTopics},
		RoleViewer:   {ScopeRegulationsRead, ScopePlansRead},
	}
	for _, r := range Roles {
		for _, s := range all {
			if got := r.Allows(s); got != slices.Contains(want[r], s) {
				t.Errorf("%s allows %s: %v", r, s, got)
			}
		}
		if r.Allows("") {
			t.Errorf("%s allows a route without a scope", r)
		}
	}
	for _, s := range append(all, "") {
		if !RoleBootstrap.Allows(s) {
			t.Errorf("bootstrap does not allow %q", s)
		}
	}
	if RoleViewer.Allows(ScopeExport) {
		t.Error("viewer may export: an export returns personal data")
	}
	if got := RolesFor(ScopeRegulationsRead); !slices.Equal(got, []Role{RolePrivacy, RoleViewer}) {
		t.Errorf("RolesFor(regulations:read) = %v", got)
	}
	if got := RolesFor(""); len(got) != 0 {
		t.Errorf("RolesFor(\"\") = %v", got)
	}
	if Role("admin").Allows(ScopeExport) || Role("").Allows(ScopePlansRead) {
		t.Error("an unknown role allows something")
	}
	if _, err := ParseRole("bootstrap"); err == nil {
		t.Error("a token can be created with the bootstrap role")
	}
	if r, err := ParseRole(" viewer "); err != nil || r != RoleViewer {
		t.Errorf("ParseRole(viewer) = %q, %v", r, err)
	}
}
