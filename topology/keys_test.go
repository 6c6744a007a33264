package topology

import (
	"encoding/base64"
	"log/slog"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/topology/config"
)

// A process's keyring: refused without an encryption section (privacy
// first), nil when the section disables it, read from the environment
// otherwise, with errors naming the field.
func TestKeyringFromTheEncryptionSection(t *testing.T) {
	cfg := func(enc config.Encryption) Config {
		return Config{Workspace: config.Config{Encryption: enc}, Logger: slog.New(slog.DiscardHandler)}
	}
	if _, err := keyring(cfg(config.Encryption{})); err == nil ||
		!strings.Contains(err.Error(), "encryption") || !strings.Contains(err.Error(), "disabled: true") {
		t.Fatalf("no section: %v, want a refusal naming encryption and the opt-out", err)
	}
	if k, err := keyring(cfg(config.Encryption{Disabled: true})); err != nil || k != nil {
		t.Fatalf("disabled: %v, %v; want no keyring", k, err)
	}
	enc := config.Encryption{KEKs: []config.KEKConfig{{ID: "k1", SecretEnv: "SLUICE_TEST_KEK_K1"}, {ID: "k2", SecretEnv: "SLUICE_TEST_KEK_K2"}}, Current: "k2"}
	t.Setenv("SLUICE_TEST_KEK_K1", base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if _, err := keyring(cfg(enc)); err == nil || !strings.Contains(err.Error(), "encryption.keks[1].secretEnv") {
		t.Fatalf("a missing secret: %v, want an error naming encryption.keks[1].secretEnv", err)
	}
	t.Setenv("SLUICE_TEST_KEK_K2", strings.Repeat("ab", 32))
	k, err := keyring(cfg(enc))
	if err != nil || k.Current() != "k2" || len(k.IDs()) != 2 {
		t.Fatalf("keyring %v, %v", k, err)
	}
}
