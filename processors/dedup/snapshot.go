package dedup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrSnapshot reports a snapshot that cannot be restored.
var ErrSnapshot = errors.New("dedup: bad snapshot")

// Snapshot layout, little-endian: magic, window (s), seed, watermark, count,
// then count × (key uint64, first-accepted uint32).
const (
	magic      = "SLD1"
	headerLen  = 4 + 4 + 8 + 4 + 8
	entryLen   = 8 + 4
	maxEntries = 1 << 34
)

// MarshalBinary encodes the Set: seed, window, watermark and every key with
// its time, expired ones included (restore, then Expire, to drop them).
func (s *Set) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, headerLen+s.live*entryLen)
	b = append(b, magic...)
	b = binary.LittleEndian.AppendUint32(b, s.window)
	b = binary.LittleEndian.AppendUint64(b, s.seed)
	b = binary.LittleEndian.AppendUint32(b, s.watermark)
	b = binary.LittleEndian.AppendUint64(b, uint64(s.live))
	for i, k := range s.keys {
		if k != empty {
			b = binary.LittleEndian.AppendUint64(b, k)
			b = binary.LittleEndian.AppendUint32(b, s.at[i])
		}
	}
	return b, nil
}

// UnmarshalBinary replaces the Set's contents, seed and window with a
// snapshot's. On error the Set is unchanged.
func (s *Set) UnmarshalBinary(b []byte) error {
	if len(b) < headerLen || string(b[:4]) != magic {
		return fmt.Errorf("%w: no %s header", ErrSnapshot, magic)
	}
	window := binary.LittleEndian.Uint32(b[4:])
	seed := binary.LittleEndian.Uint64(b[8:])
	watermark := binary.LittleEndian.Uint32(b[16:])
	count := binary.LittleEndian.Uint64(b[20:])
	body := b[headerLen:]
	if window == 0 || count > maxEntries || uint64(len(body)) != count*entryLen {
		return fmt.Errorf("%w: window %d, %d entries in %d bytes", ErrSnapshot, window, count, len(body))
	}
	r := &Set{window: window, seed: seed, watermark: watermark}
	r.alloc(slotsFor(int(count)))
	for ; len(body) > 0; body = body[entryLen:] {
		k, at := binary.LittleEndian.Uint64(body), binary.LittleEndian.Uint32(body[8:])
		i, dup := r.find(k)
		if k == empty || dup {
			return fmt.Errorf("%w: empty or repeated key", ErrSnapshot)
		}
		r.keys[i], r.at[i] = k, at
		r.live++
	}
	*s = *r
	return nil
}

// Watermark returns the latest record time the Set has seen.
func (s *Set) Watermark() time.Time { return time.Unix(int64(s.watermark), 0).UTC() }
