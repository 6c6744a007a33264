package dev

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The data directory is private to its user, also when an older version
// made it world-readable, and the credentials file holds the admin token the
// API accepts: the generated one, or the one given.
func TestDataDirIsPrivateAndCredentialsAgree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state")
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := openDataDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir mode %v, want 0700", fi.Mode().Perm())
	}
	generated, err := d.loadOrCreateSecrets("")
	if err != nil {
		t.Fatal(err)
	}
	if generated.AdminToken == "" {
		t.Fatal("no admin token generated")
	}
	given, err := d.loadOrCreateSecrets("adm_given")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(d.sub("dev-credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk devSecrets
	if err := json.Unmarshal(data, &onDisk); err != nil {
		t.Fatal(err)
	}
	if given.AdminToken != "adm_given" || onDisk.AdminToken != "adm_given" || onDisk.WriteKey != generated.WriteKey {
		t.Fatalf("with a given token: in use %q, on disk %+v; want adm_given and the same write key", given.AdminToken, onDisk)
	}
	if fi, _ := os.Stat(d.sub("dev-credentials.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials mode %v, want 0600", fi.Mode().Perm())
	}
}
