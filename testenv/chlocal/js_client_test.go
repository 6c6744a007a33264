package chlocal

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// compatDir holds the independent clients the compatibility tests drive.
const compatDir = "../compat"

// TestOfficialJSClient runs testenv/compat/clickhouse_client.mjs, which uses
// @clickhouse/client against the server. Missing node or node_modules fail
// the test: `make deps` installs both.
func TestOfficialJSClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed; install Node.js 20+ and run `make deps`: %v", err)
	}
	if _, err := os.Stat(filepath.Join(compatDir, "node_modules", "@clickhouse", "client")); err != nil {
		t.Fatalf("@clickhouse/client is not installed; run `make deps` (npm ci in testenv/compat): %v", err)
	}
	srv, db := ForTest(t)
	cmd := exec.CommandContext(t.Context(), node, filepath.Join(compatDir, "clickhouse_client.mjs"), srv.URL(), db)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("clickhouse_client.mjs failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
