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
