package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Encryption is the crypto-shredding of the stream topics (package
// processors/shred): the key-encryption keys (KEKs) that wrap the subjects'
// data keys. The zero value means not configured: `sluice dev` then uses a
// KEK of its own kept in its data directory, and `sluice run` refuses to
// start, unless Disabled says plainly that the topics hold plaintext.
type Encryption struct {
	// KEKs are the key-encryption keys by id: the current one wraps new data
	// keys, the others only unwrap keys wrapped before a rotation.
	KEKs []KEKConfig `yaml:"keks"`
	// Current is the id of the KEK that wraps new data keys; required with keks.
	Current string `yaml:"current"`
	// Disabled writes the stream topics in plaintext: a deletion then cannot
	// reach their copies before retention (DESIGN guarantee 3 does not hold).
	// Default false; it excludes keks.
	Disabled bool `yaml:"disabled"`
}

// KEKConfig is one KEK. There is deliberately no secret field: the secret is
// read from the environment variable SecretEnv names.
type KEKConfig struct {
	// ID names the KEK in key records; letters, digits, _ or -. Never reuse
	// an id for another secret.
	ID string `yaml:"id"`
	// SecretEnv names the environment variable holding the KEK: 32 random
	// bytes as 64 hex digits or as standard base64 (44 characters, or 43
	// unpadded), e.g. `openssl rand -base64 32`. Read when the process starts.
	SecretEnv string `yaml:"secretEnv"`
}

// Configured reports whether the section says anything: KEKs or Disabled.
func (e Encryption) Configured() bool { return e.Disabled || len(e.KEKs) > 0 || e.Current != "" }

// validate names the first bad field, relative to the encryption section.
func (e Encryption) validate() error {
	if e.Disabled {
		if len(e.KEKs) > 0 || e.Current != "" {
			return errors.New("disabled: true excludes keks and current: remove one or the other")
		}
		return nil
	}
	if !e.Configured() {
		return nil
	}
	if len(e.KEKs) == 0 {
		return errors.New("keks: at least one KEK is required with current")
	}
	ids := map[string]bool{}
	for i, k := range e.KEKs {
		if !nameRE.MatchString(k.ID) {
			return fmt.Errorf("keks[%d].id %q: want letters, digits, _ or -, at most 63", i, k.ID)
		}
		if ids[k.ID] {
			return fmt.Errorf("keks[%d].id %q: duplicate", i, k.ID)
		}
		ids[k.ID] = true
		if k.SecretEnv == "" {
			return fmt.Errorf("keks[%d].secretEnv: required (the name of the environment variable holding the KEK)", i)
		}
		// The value is not echoed: a misplaced secret must not reach logs.
		if !envNameRE.MatchString(k.SecretEnv) {
			return fmt.Errorf("keks[%d].secretEnv: want the name of an environment variable (letters, digits, _), not the secret", i)
		}
	}
	if e.Current == "" {
		return errors.New("current: required with keks: the id of the KEK that wraps new data keys")
	}
	if !ids[e.Current] {
		return fmt.Errorf("current %q: not the id of one of keks", e.Current)
	}
	return nil
}

// KEKSecret is one KEK with its secret read.
type KEKSecret struct {
	ID     string
	Secret []byte
}

// Secrets reads every KEK's secret from the environment, with errors naming
// the field and the variable, never the value.
func (e Encryption) Secrets() ([]KEKSecret, error) {
	out := make([]KEKSecret, 0, len(e.KEKs))
	for i, k := range e.KEKs {
		field := fmt.Sprintf("encryption.keks[%d].secretEnv", i)
		v, ok := os.LookupEnv(k.SecretEnv)
		switch {
		case !ok:
			return nil, fmt.Errorf("%s: environment variable %s is not set", field, k.SecretEnv)
		case v == "":
			return nil, fmt.Errorf("%s: environment variable %s is empty", field, k.SecretEnv)
		}
		secret, err := ParseKEK(v)
		if err != nil {
			return nil, fmt.Errorf("%s: environment variable %s: %w", field, k.SecretEnv, err)
		}
		out = append(out, KEKSecret{ID: k.ID, Secret: secret})
	}
	return out, nil
}

// KEKBytes is the size of a KEK: AES-256.
const KEKBytes = 32

// ParseKEK reads a KEK written as 64 hex digits or as standard base64 of 32
// bytes (padded or not). Surrounding white space is ignored.
func ParseKEK(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*KEKBytes {
		b, err := hex.DecodeString(s)
		if err != nil {
			return nil, errors.New("64 characters but not hex digits: want 32 bytes as 64 hex digits or base64")
		}
		return b, nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, errors.New("neither 64 hex digits nor base64: want 32 bytes, e.g. `openssl rand -base64 32`")
	}
	if len(b) != KEKBytes {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), KEKBytes)
	}
	return b, nil
}
