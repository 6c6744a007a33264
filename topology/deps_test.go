package topology

import (
	"os/exec"
	"strings"
	"testing"
)

// The roles' packages carry no test machinery: only the dev wiring
// (topology/dev) imports testenv's embedded broker and local engine.
func TestRolesDoNotImportTestenv(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command:", err)
	}
	roles := []string{
		"github.com/sluicehq/sluice/topology",
		"github.com/sluicehq/sluice/topology/api",
		"github.com/sluicehq/sluice/topology/router",
		"github.com/sluicehq/sluice/topology/delivery",
		"github.com/sluicehq/sluice/topology/regulator",
		"github.com/sluicehq/sluice/topology/planstore",
		"github.com/sluicehq/sluice/topology/cluster",
		"github.com/sluicehq/sluice/topology/topics",
	}
	out, err := exec.Command("go", append([]string{"list", "-deps"}, roles...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < len(roles) {
		t.Fatalf("go list -deps listed %d packages, fewer than the %d asked for", len(deps), len(roles))
	}
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/sluicehq/sluice/testenv") || p == "github.com/sluicehq/sluice/topology/dev" {
			t.Errorf("a role package depends on %s", p)
		}
	}
	// The check can fail: the dev wiring does depend on testenv.
	out, err = exec.Command("go", "list", "-deps", "github.com/sluicehq/sluice/topology/dev").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "github.com/sluicehq/sluice/testenv/broker") {
		t.Fatalf("go list -deps topology/dev does not show testenv/broker: %v\n%s", err, out)
	}
}
