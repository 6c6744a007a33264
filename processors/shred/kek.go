package shred

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"regexp"
	"slices"
)

// KEKSize is the length of a key-encryption key and of a data key: AES-256.
const KEKSize = 32

// KEK is one key-encryption key: an id that key records name, and its secret.
type KEK struct {
	ID     string
	Secret []byte
}

// Keyring holds the key-encryption keys of a process: Current wraps every new
// data key; the others only unwrap keys wrapped before a rotation. Safe for
// concurrent use; immutable once built.
type Keyring struct {
	current string
	keks    map[string]cipher.AEAD
	ids     []string
}

var kekIDRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,62}$`)

// NewKeyring builds a keyring of keks in which current wraps new data keys.
// It refuses no KEK, an id twice, an id that is not letters, digits, _ or -
// (at most 63), a secret that is not KEKSize bytes, and a current id that is
// not among keks.
func NewKeyring(current string, keks ...KEK) (*Keyring, error) {
	if len(keks) == 0 {
		return nil, errors.New("shred: a keyring needs at least one KEK")
	}
	k := &Keyring{current: current, keks: make(map[string]cipher.AEAD, len(keks))}
	for i, kek := range keks {
		if !kekIDRE.MatchString(kek.ID) {
			return nil, fmt.Errorf("shred: KEK %d: id %q: want letters, digits, _ or -, at most 63", i, kek.ID)
		}
		if _, dup := k.keks[kek.ID]; dup {
			return nil, fmt.Errorf("shred: KEK %d: id %q: duplicate", i, kek.ID)
		}
		if len(kek.Secret) != KEKSize {
			return nil, fmt.Errorf("shred: KEK %q: %d bytes, want %d", kek.ID, len(kek.Secret), KEKSize)
		}
		aead, err := newAEAD(kek.Secret)
		if err != nil {
			return nil, err
		}
		k.keks[kek.ID] = aead
		k.ids = append(k.ids, kek.ID)
	}
	if _, ok := k.keks[current]; !ok {
		return nil, fmt.Errorf("shred: current KEK %q is not among the KEKs %v", current, k.ids)
	}
	slices.Sort(k.ids)
	return k, nil
}

// Current is the id of the KEK that wraps new data keys.
func (k *Keyring) Current() string { return k.current }

// IDs are the ids of every KEK, sorted.
func (k *Keyring) IDs() []string { return slices.Clone(k.ids) }

// ErrUnknownKEK reports a key record wrapped by a KEK the keyring lacks: the
// KEK was removed before every key it wrapped was re-wrapped.
var ErrUnknownKEK = errors.New("shred: the key record names a KEK this keyring does not hold")

// wrapAAD binds a wrapped data key to its record key and KEK, so that a
// wrapped key copied under another subject or KEK id does not unwrap.
func wrapAAD(recordKey []byte, kek string) []byte {
	aad := make([]byte, 0, len("sluice-dek-v1\x00")+len(kek)+1+len(recordKey))
	aad = append(aad, "sluice-dek-v1\x00"...)
	aad = append(aad, kek...)
	aad = append(aad, 0)
	return append(aad, recordKey...)
}

// wrap seals dek with the current KEK for the record key: nonce ‖ ciphertext ‖ tag.
func (k *Keyring) wrap(recordKey []byte, dek *DEK) (kek string, wrapped []byte) {
	kek = k.current
	aead := k.keks[kek]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+KEKSize+aead.Overhead())
	_, _ = rand.Read(nonce)
	return kek, aead.Seal(nonce, nonce, dek[:], wrapAAD(recordKey, kek))
}

// unwrap opens a data key wrapped for the record key by KEK kek.
func (k *Keyring) unwrap(recordKey []byte, kek string, wrapped []byte) (DEK, error) {
	var dek DEK
	aead, ok := k.keks[kek]
	if !ok {
		return dek, fmt.Errorf("%w: %q", ErrUnknownKEK, kek)
	}
	n := aead.NonceSize()
	if len(wrapped) != n+KEKSize+aead.Overhead() {
		return dek, fmt.Errorf("shred: a wrapped data key of %d bytes, want %d", len(wrapped), n+KEKSize+aead.Overhead())
	}
	if _, err := aead.Open(dek[:0], wrapped[:n], wrapped[n:], wrapAAD(recordKey, kek)); err != nil {
		return dek, fmt.Errorf("shred: the data key does not unwrap with KEK %q: %w", kek, err)
	}
	return dek, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("shred: %w", err)
	}
	return cipher.NewGCM(block)
}
