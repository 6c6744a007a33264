package shred

import (
	"bytes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// DEK is a data key: the AES-256-GCM key of one subject's records.
type DEK [KEKSize]byte

// NewDEK returns a random data key.
func NewDEK() DEK {
	var d DEK
	_, _ = rand.Read(d[:]) // crypto/rand.Read never fails
	return d
}

// The envelope of a sealed record value:
//
//	magic   4 bytes  0x00 'S' 'H' 0x01 (the last byte is the version)
//	key id 16 bytes  the data key's KeyID
//	nonce  12 bytes  random
//	sealed  n+16     AES-256-GCM of the value, tag last
//
// The additional data is the first 20 bytes (magic and key id). No JSON or
// text value starts with a zero byte, so a plain value is never taken for
// an envelope.
const (
	headerSize = 4 + len(KeyID{})
	nonceSize  = 12
	tagSize    = 16
	// Overhead is how many bytes sealing adds to a value.
	Overhead = headerSize + nonceSize + tagSize
)

var magic = [4]byte{0x00, 'S', 'H', 0x01}

// ErrNotSealed reports a value that is not an envelope (or of an unknown version).
var ErrNotSealed = errors.New("shred: the value is not a sealed envelope")

// IsSealed reports whether v starts like an envelope.
func IsSealed(v []byte) bool { return len(v) >= Overhead && bytes.Equal(v[:len(magic)], magic[:]) }

// EnvelopeKeyID returns the key id an envelope was sealed with.
func EnvelopeKeyID(v []byte) (KeyID, error) {
	var id KeyID
	if !IsSealed(v) {
		return id, ErrNotSealed
	}
	copy(id[:], v[len(magic):headerSize])
	return id, nil
}

// seal appends the envelope of plaintext, sealed by aead under key id, to dst.
func seal(dst []byte, aead cipher.AEAD, id KeyID, plaintext []byte) []byte {
	start := len(dst)
	dst = append(dst, magic[:]...)
	dst = append(dst, id[:]...)
	dst = append(dst, make([]byte, nonceSize)...)
	_, _ = rand.Read(dst[start+headerSize : start+headerSize+nonceSize])
	hdr := dst[start : start+headerSize]
	nonce := dst[start+headerSize : start+headerSize+nonceSize]
	return aead.Seal(dst, nonce, plaintext, hdr)
}

// open appends the plaintext of envelope v to dst; aead must be the data
// key of v's key id.
func open(dst []byte, aead cipher.AEAD, v []byte) ([]byte, error) {
	if !IsSealed(v) {
		return nil, ErrNotSealed
	}
	out, err := aead.Open(dst, v[headerSize:headerSize+nonceSize], v[headerSize+nonceSize:], v[:headerSize])
	if err != nil {
		return nil, fmt.Errorf("shred: the envelope does not open: %w", err)
	}
	return out, nil
}

// Seal appends the envelope of plaintext under data key dek (id id) to dst.
// It is the slow path for callers without a Table: it builds the cipher on
// every call.
func Seal(dst []byte, id KeyID, dek *DEK, plaintext []byte) []byte {
	aead, _ := newAEAD(dek[:]) // a 32-byte key always makes a cipher
	return seal(dst, aead, id, plaintext)
}

// Open appends the plaintext of envelope v, sealed under data key dek, to
// dst. It does not check that dek is the key v names: a wrong key fails to open.
func Open(dst []byte, dek *DEK, v []byte) ([]byte, error) {
	aead, _ := newAEAD(dek[:])
	return open(dst, aead, v)
}
