package main

import (
	"strings"
	"testing"
)

// `sluice topics acls` prints one kafka-acls.sh command per rule, for each
// role's principal, and takes other principals by flag.
func TestTopicsACLsPrintsCommands(t *testing.T) {
	out, err := runSluice(t.Context(), "topics", "acls", "--router-principal", "User:rtr")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, want := range []string{
		"--allow-principal User:rtr --operation Write --transactional-id sluice-router --resource-pattern-type prefixed",
		"--allow-principal User:sluice-api --operation Write --topic sluice.suppressions",
		"--allow-principal User:sluice-regulator --operation Write --topic sluice.keys",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no rule %q in:\n%s", want, out)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "kafka-acls.sh ") || strings.Contains(l, "User:sluice-router") {
			t.Errorf("line %q", l)
		}
	}
}

// --admin-principal names the principal of `sluice tokens` and `sluice
// audit` in every rule the admin CLI needs; the default one is gone.
func TestTopicsACLsAdminPrincipal(t *testing.T) {
	out, err := runSluice(t.Context(), "topics", "acls", "--admin-principal", "User:ops-alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--allow-principal User:ops-alice --operation Write --topic sluice.admin-tokens",
		"--allow-principal User:ops-alice --operation Read --topic sluice.audit",
		"--allow-principal User:ops-alice --operation Write --transactional-id sluice-admin- --resource-pattern-type prefixed",
		"--allow-principal User:ops-alice --operation IdempotentWrite --cluster",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no rule %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "User:sluice-admin") {
		t.Errorf("the default admin principal is still named:\n%s", out)
	}
}
