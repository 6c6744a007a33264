package dev

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrDataDirInUse means another process holds the data directory.
var ErrDataDirInUse = errors.New("data directory is in use by another sluice process")

// dataDir is a state directory held exclusively by this process. The lock is
// an flock on a file inside it, so it is released when the process dies.
type dataDir struct {
	path string
	lock *os.File
}

// openDataDir creates path if needed and locks it, failing fast with
// ErrDataDirInUse instead of letting two processes share one broker's state.
// The directory holds raw events and credentials: it is made (or, made by an
// older version, changed to) 0700, so no other user can read anything in it.
func openDataDir(path string) (*dataDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := os.Chmod(path, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(path, "LOCK"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", path, ErrDataDirInUse)
		}
		return nil, fmt.Errorf("data dir lock: %w", err)
	}
	return &dataDir{path: path, lock: f}, nil
}

// sub returns a path inside the data directory.
func (d *dataDir) sub(name string) string { return filepath.Join(d.path, name) }

// close releases the lock.
func (d *dataDir) close() error { return d.lock.Close() }

// devSecrets are the generated credentials of a dev stack, kept in the data
// directory so SDKs and scripts keep working across restarts.
type devSecrets struct {
	WriteKey   string `json:"writeKey"`
	AdminToken string `json:"adminToken"`
}

// loadOrCreateSecrets reads the dev credentials, generating missing ones.
// A non-empty adminToken (given by flag or environment) replaces the stored
// one, so the file always holds the token the API accepts.
func (d *dataDir) loadOrCreateSecrets(adminToken string) (devSecrets, error) {
	path := d.sub("dev-credentials.json")
	var s devSecrets
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &s); err != nil {
			return s, fmt.Errorf("%s: %w", path, err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return s, err
	}
	changed := false
	if adminToken != "" && s.AdminToken != adminToken {
		s.AdminToken, changed = adminToken, true
	}
	if s.WriteKey == "" {
		s.WriteKey, changed = "wk_dev_"+randomHex(12), true
	}
	if s.AdminToken == "" {
		s.AdminToken, changed = "adm_"+randomHex(16), true
	}
	if changed {
		data, _ := json.MarshalIndent(s, "", "  ")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return s, err
		}
	}
	return s, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
