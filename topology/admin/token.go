package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Token is one admin token as the admin-tokens topic holds it (key: ID):
// never the token itself, only its SHA-256.
//
// A token is "<id>.<secret>", the secret 256 random bits. SHA-256 suffices
// where passwords need a slow hash: a slow hash only slows guessing of
// low-entropy secrets, and guessing 256 random bits is out of reach at any
// speed; a fast hash lets every request be checked without a CPU cost an
// attacker could turn against the API.
type Token struct {
	ID     string `json:"id"`
	Holder string `json:"holder"`
	Role   Role   `json:"role"`
	// SHA256 is the hex SHA-256 of the whole token string.
	SHA256    string     `json:"sha256"`
	CreatedAt time.Time  `json:"createdAt"`
	CreatedBy string     `json:"createdBy"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	RevokedBy string     `json:"revokedBy,omitempty"`
}

// Revoked reports whether the token was revoked.
func (t Token) Revoked() bool { return t.RevokedAt != nil }

// MaxHolderBytes caps a holder's name.
const MaxHolderBytes = 200

// CheckHolder accepts a holder name: 1 to MaxHolderBytes printable ASCII
// characters without spaces (an e-mail address, a team name), so that it
// can go in a header and on one line of `sluice audit`.
func CheckHolder(h string) error {
	if h == "" || len(h) > MaxHolderBytes {
		return fmt.Errorf("holder %q: want 1 to %d characters", h, MaxHolderBytes)
	}
	for i := 0; i < len(h); i++ {
		if h[i] < 0x21 || h[i] > 0x7e {
			return fmt.Errorf("holder %q: only printable ASCII, without spaces", h)
		}
	}
	if h == Bootstrap.Holder {
		return fmt.Errorf("holder %q: reserved for the bootstrap token", h)
	}
	return nil
}

// newToken makes a token for holder and role and returns it with its record.
func newToken(holder string, role Role, by string, now time.Time) (string, Token, error) {
	if err := CheckHolder(holder); err != nil {
		return "", Token{}, err
	}
	if !role.Valid() {
		return "", Token{}, fmt.Errorf("role %q: want one of %s", role, joinRoles(Roles))
	}
	var id [6]byte
	var secret [32]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	_, _ = rand.Read(secret[:])
	t := Token{ID: "tok_" + hex.EncodeToString(id[:]), Holder: holder, Role: role, CreatedAt: now.UTC(), CreatedBy: by}
	token := t.ID + "." + base64.RawURLEncoding.EncodeToString(secret[:])
	sum := sha256.Sum256([]byte(token))
	t.SHA256 = hex.EncodeToString(sum[:])
	return token, t, nil
}

// decodeToken reads a record of the admin-tokens topic.
func decodeToken(key, value []byte) (Token, [32]byte, error) {
	var t Token
	var sum [32]byte
	if err := json.Unmarshal(value, &t); err != nil {
		return t, sum, err
	}
	if t.ID != string(key) {
		return t, sum, fmt.Errorf("id %q under key %q", t.ID, key)
	}
	raw, err := hex.DecodeString(t.SHA256)
	if err != nil || len(raw) != len(sum) {
		return t, sum, errors.New("sha256: want 64 hex digits")
	}
	copy(sum[:], raw)
	return t, sum, nil
}
