package shred

import (
	_ "embed"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/s2"
)

// A sealed value's plaintext is compressed before it is sealed: ciphertext
// does not compress, so Kafka's batch compression no longer shrinks sealed
// records. One event alone compresses little (about 1.2× with s2), because
// what makes a batch of events compress is what they share: field names,
// library names, user agents. A shared dictionary gives each event that
// context: s2 with the Segment-spec dictionary below.

// Codecs: the first byte of an envelope's payload (inside the ciphertext)
// says how the rest holds the value.
const (
	// codecStored: the rest is the value itself (small, or it did not shrink).
	codecStored byte = 0
	// codecS2SegmentV1: the rest is an s2 block of the value, compressed with
	// the dictionary segment-v1.dict.
	codecS2SegmentV1 byte = 1
)

const (
	// minCompress is the smallest value worth compressing: below it the s2
	// block's header and literal tags eat the little a dictionary saves.
	minCompress = 32
	// maxInflated bounds the size a compressed payload may declare (4 MiB,
	// four times Kafka's default max.message.bytes): a larger value is
	// stored, and an envelope declaring more does not open, so no envelope
	// makes a reader allocate more than this.
	maxInflated = 4 << 20
	// maxPooled is the largest scratch buffer kept for reuse.
	maxPooled = 64 << 10
)

// segmentV1 is the dictionary of codecS2SegmentV1: the vocabulary of the
// Segment spec (common fields, context, semantic events, traits) and of
// sluice's own record values, the most common last (s2 reaches the nearest
// 2 KiB of history with the shortest copies). It is part of the envelope
// format: envelopes on the topics depend on every byte of it, so it never
// changes (TestDictionaryIsFrozen); a better one is a new codec.
//
//go:embed segment-v1.dict
var segmentV1 []byte

// segmentDict is segmentV1 ready for s2 (repeat offset 0); read-only once built.
var segmentDict = sync.OnceValue(func() *s2.Dict {
	return s2.NewDict(append([]byte{0}, segmentV1...))
})

// errTooLarge reports a compressed payload that declares more than maxInflated.
var errTooLarge = errors.New("shred: the envelope declares a value larger than 4 MiB")

// appendPayload appends the envelope payload of value v to dst: the codec
// byte, then v compressed when that makes it smaller, else v itself.
func appendPayload(dst, v []byte) []byte {
	at := len(dst)
	if len(v) >= minCompress && len(v) <= maxInflated {
		// Encode wants room for the worst case; it writes after the codec byte.
		dst = append(dst, codecS2SegmentV1)
		need := s2.MaxEncodedLen(len(v))
		dst = growTo(dst, len(dst)+need)
		block := segmentDict().Encode(dst[len(dst):len(dst)+need], v)
		if len(block) < len(v) {
			return dst[:len(dst)+len(block)]
		}
		dst = dst[:at]
	}
	dst = append(dst, codecStored)
	return append(dst, v...)
}

// appendValue appends the value held by an envelope payload p to dst. A
// payload that is empty, names an unknown codec, declares more than
// maxInflated, or does not decode is an error; nothing is allocated beyond
// the declared size.
func appendValue(dst, p []byte) ([]byte, error) {
	if len(p) == 0 {
		return nil, errors.New("shred: an empty envelope payload")
	}
	switch body := p[1:]; p[0] {
	case codecStored:
		return append(dst, body...), nil
	case codecS2SegmentV1:
		n, err := s2.DecodedLen(body)
		if err != nil {
			return nil, fmt.Errorf("shred: a compressed value: %w", err)
		}
		if n > maxInflated {
			return nil, errTooLarge
		}
		dst = growTo(dst, len(dst)+n)
		out, err := segmentDict().Decode(dst[len(dst):len(dst)+n], body)
		if err != nil {
			return nil, fmt.Errorf("shred: a compressed value: %w", err)
		}
		return dst[:len(dst)+len(out)], nil
	default:
		return nil, fmt.Errorf("shred: an envelope payload of unknown codec %d", p[0])
	}
}

// growTo returns b with capacity for at least n bytes, its length unchanged.
func growTo(b []byte, n int) []byte {
	if n <= cap(b) {
		return b
	}
	grown := make([]byte, len(b), max(n, 2*cap(b)))
	copy(grown, b)
	return grown
}

// scratch is a pool of buffers for payloads between the codec and the cipher.
var scratch = sync.Pool{New: func() any { return new([]byte) }}

func getScratch() *[]byte { return scratch.Get().(*[]byte) }

func putScratch(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		scratch.Put(b)
	}
}
