package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNewTokenKeepsOnlyItsHash(t *testing.T) {
	token, tok, err := newToken("alice@acme.com", RolePrivacy, "ops@host", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	id, secret, ok := strings.Cut(token, ".")
	if !ok || id != tok.ID || !strings.HasPrefix(id, "tok_") || len(secret) != 43 {
		t.Fatalf("token %q, id %q", token, tok.ID)
	}
	sum := sha256.Sum256([]byte(token))
	if tok.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatal("the stored hash is not the token's SHA-256")
	}
	value, _ := json.Marshal(tok)
	if strings.Contains(string(value), secret) {
		t.Fatal("the record holds the secret")
	}
	back, gotSum, err := decodeToken([]byte(tok.ID), value)
	if err != nil || back.Holder != "alice@acme.com" || gotSum != sum {
		t.Fatalf("decode: %+v %v", back, err)
	}
	if _, _, err := decodeToken([]byte("tok_other"), value); err == nil {
		t.Error("a record under another key decodes")
	}
	other, _, _ := newToken("alice@acme.com", RolePrivacy, "", time.Now())
	if other == token {
		t.Error("two tokens are equal")
	}
}

func TestHolderAndRoleChecked(t *testing.T) {
	for _, h := range []string{"", "bootstrap", "alice smith", "a\nb", strings.Repeat("a", MaxHolderBytes+1), "é@acme.com"} {
		if err := CheckHolder(h); err == nil {
			t.Errorf("holder %q accepted", h)
		}
	}
	if _, _, err := newToken("alice@acme.com", RoleBootstrap, "", time.Now()); err == nil {
		t.Error("a bootstrap-role token was made")
	}
}
