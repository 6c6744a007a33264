package config

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

func TestEncryptionSection(t *testing.T) {
	base := "workspace: acme\n"
	ok := []string{
		"",
		"encryption: {disabled: true}\n",
		"encryption: {keks: [{id: k1, secretEnv: SLUICE_KEK_K1}], current: k1}\n",
		"encryption:\n  keks:\n    - {id: k1, secretEnv: SLUICE_KEK_K1}\n    - {id: k2, secretEnv: SLUICE_KEK_K2}\n  current: k2\n",
	}
	for _, y := range ok {
		if _, err := Parse([]byte(base + y)); err != nil {
			t.Errorf("%q: %v", y, err)
		}
	}
	bad := map[string]string{
		"encryption: {disabled: true, current: k1}\n":                                            "encryption.disabled",
		"encryption: {current: k1}\n":                                                            "encryption.keks",
		"encryption: {keks: [{id: k1, secretEnv: SLUICE_KEK_K1}]}\n":                             "encryption.current",
		"encryption: {keks: [{id: k1, secretEnv: SLUICE_KEK_K1}], current: k2}\n":                "encryption.current \"k2\"",
		"encryption: {keks: [{id: k1}], current: k1}\n":                                          "encryption.keks[0].secretEnv",
		"encryption: {keks: [{id: 'k 1', secretEnv: A}], current: 'k 1'}\n":                      "encryption.keks[0].id",
		"encryption: {keks: [{id: k1, secretEnv: A}, {id: k1, secretEnv: B}], current: k1}\n":    "encryption.keks[1].id",
		"encryption: {keks: [{id: k1, secretEnv: 'c2VjcmV0c2VjcmV0c2VjcmV0=='}], current: k1}\n": "encryption.keks[0].secretEnv",
		"encryption: {keks: [{id: k1, secret: x}], current: k1}\n":                               "secret",
	}
	for y, want := range bad {
		_, err := Parse([]byte(base + y))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one naming %s", y, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "c2VjcmV0") {
			t.Errorf("%q: the error echoes what may be a secret: %v", y, err)
		}
	}
}

func TestEncryptionSecrets(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	t.Setenv("SLUICE_TEST_KEK_HEX", hex.EncodeToString(key))
	t.Setenv("SLUICE_TEST_KEK_B64", base64.StdEncoding.EncodeToString(key)+"\n")
	t.Setenv("SLUICE_TEST_KEK_RAW", base64.RawStdEncoding.EncodeToString(key))
	t.Setenv("SLUICE_TEST_KEK_SHORT", base64.StdEncoding.EncodeToString(key[:16]))
	t.Setenv("SLUICE_TEST_KEK_EMPTY", "")
	e := Encryption{Current: "a", KEKs: []KEKConfig{{"a", "SLUICE_TEST_KEK_HEX"}, {"b", "SLUICE_TEST_KEK_B64"}, {"c", "SLUICE_TEST_KEK_RAW"}}}
	got, err := e.Secrets()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		if !bytes.Equal(s.Secret, key) {
			t.Errorf("KEK %s: %x", s.ID, s.Secret)
		}
	}
	for env, want := range map[string]string{
		"SLUICE_TEST_KEK_SHORT": "16 bytes, want 32",
		"SLUICE_TEST_KEK_EMPTY": "is empty",
		"SLUICE_TEST_KEK_UNSET": "is not set",
	} {
		e := Encryption{Current: "a", KEKs: []KEKConfig{{"a", env}}}
		_, err := e.Secrets()
		if err == nil || !strings.Contains(err.Error(), "encryption.keks[0].secretEnv") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming the field and %q", env, err, want)
		}
	}
}
