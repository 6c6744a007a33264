package shred

import (
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
//	magic   4 bytes  0x00 'S' 'H' version
//	key id 16 bytes  the data key's KeyID
//	nonce  12 bytes  random
//	sealed  n+16     AES-256-GCM of the payload, tag last
//
// The additional data is the first 20 bytes (magic and key id). Version 2
// (written) seals a payload: a codec byte and the value, compressed when
// that pays (compress.go). Version 1 (read only, written before) sealed the
// value itself. No JSON or text value starts with a zero byte, so a plain
// value is never taken for an envelope.
const (
	headerSize = 4 + len(KeyID{})
	nonceSize  = 12
	tagSize    = 16
	// Overhead is the most bytes sealing adds to a value (a value that
	// compresses comes out smaller than it went in).
	Overhead = headerSize + nonceSize + 1 + tagSize
)

var (
	magicV1 = [4]byte{0x00, 'S', 'H', 0x01}
	magicV2 = [4]byte{0x00, 'S', 'H', 0x02}
)

// ErrNotSealed reports a value that is not an envelope (or of an unknown version).
var ErrNotSealed = errors.New("shred: the value is not a sealed envelope")

// version returns v's envelope version, 0 when v is not an envelope.
func version(v []byte) byte {
	switch {
	case len(v) < headerSize+nonceSize+tagSize || v[0] != 0 || v[1] != 'S' || v[2] != 'H':
		return 0
	case v[3] == magicV1[3]:
		return 1
	case v[3] == magicV2[3] && len(v) >= Overhead:
		return 2
	}
	return 0
}

// IsSealed reports whether v starts like an envelope of a known version.
func IsSealed(v []byte) bool { return version(v) != 0 }

// EnvelopeKeyID returns the key id an envelope was sealed with.
func EnvelopeKeyID(v []byte) (KeyID, error) {
	var id KeyID
	if !IsSealed(v) {
		return id, ErrNotSealed
	}
	copy(id[:], v[len(magicV2):headerSize])
	return id, nil
}

// seal appends the envelope of plaintext, sealed by aead under key id, to dst.
func seal(dst []byte, aead cipher.AEAD, id KeyID, plaintext []byte) []byte {
	buf := getScratch()
	defer putScratch(buf)
	*buf = appendPayload((*buf)[:0], plaintext)
	return sealPayload(dst, aead, id, *buf)
}

// sealPayload appends a version 2 envelope of payload (a codec byte and
// what it holds) to dst.
func sealPayload(dst []byte, aead cipher.AEAD, id KeyID, payload []byte) []byte {
	start := len(dst)
	dst = growTo(dst, start+headerSize+nonceSize+len(payload)+tagSize)
	dst = append(dst, magicV2[:]...)
	dst = append(dst, id[:]...)
	dst = dst[:start+headerSize+nonceSize]
	nonce := dst[start+headerSize:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails
	return aead.Seal(dst, nonce, payload, dst[start:start+headerSize])
}

// open appends the plaintext of envelope v to dst; aead must be the data
// key of v's key id.
func open(dst []byte, aead cipher.AEAD, v []byte) ([]byte, error) {
	ver := version(v)
	if ver == 0 {
		return nil, ErrNotSealed
	}
	nonce, sealed, hdr := v[headerSize:headerSize+nonceSize], v[headerSize+nonceSize:], v[:headerSize]
	if ver == 1 {
		out, err := aead.Open(dst, nonce, sealed, hdr)
		if err != nil {
			return nil, fmt.Errorf("shred: the envelope does not open: %w", err)
		}
		return out, nil
	}
	buf := getScratch()
	defer putScratch(buf)
	payload, err := aead.Open((*buf)[:0], nonce, sealed, hdr)
	if err != nil {
		return nil, fmt.Errorf("shred: the envelope does not open: %w", err)
	}
	*buf = payload
	return appendValue(dst, payload)
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
