package dev

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/config"
)

// devKEKFile holds the dev stack's key-encryption key: 32 random bytes in
// standard base64, mode 0600, kept across restarts (losing it makes every
// event in the stream topics unreadable).
const devKEKFile = "dev-kek"

// devKEKID names the dev KEK in key records.
const devKEKID = "dev"

// devKeyring is the keyring of a workspace without an encryption section:
// one KEK generated once and kept in the data directory. A workspace that
// has the section gets nil: the roles resolve it (secrets from the
// environment, or disabled) as `sluice run` does.
func (d *dataDir) devKeyring(ws config.Config) (*shred.Keyring, error) {
	if ws.Encryption.Configured() {
		return nil, nil
	}
	secret, err := d.loadOrCreateKEK()
	if err != nil {
		return nil, err
	}
	return shred.NewKeyring(devKEKID, shred.KEK{ID: devKEKID, Secret: secret})
}

// loadOrCreateKEK reads the dev KEK, generating it on first use.
func (d *dataDir) loadOrCreateKEK() ([]byte, error) {
	path := d.sub(devKEKFile)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		k, err := config.ParseKEK(string(data))
		if err != nil {
			return nil, fmt.Errorf("dev: %s: %w", path, err)
		}
		return k, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("dev: %w", err)
	}
	k := make([]byte, config.KEKBytes)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	return k, nil
}
