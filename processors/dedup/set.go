package dedup

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"time"
)

// empty marks a free slot; Key never returns it.
const empty = 0

const (
	minSlots   = 1024
	maxLoadNum = 3 // the table makes room when 3/4 full
	maxLoadDen = 4
)

// Set remembers message keys for a window. The zero value is not usable;
// call New. It is not safe for concurrent use: one Set per partition, owned
// by the partition's worker.
type Set struct {
	window    uint32 // seconds
	seed      uint64
	keys      []uint64 // empty or a key
	at        []uint32 // unix seconds the key was last sighted
	mask      uint64
	shift     uint8 // 64 − log2(slots)
	live      int
	watermark uint32 // latest time seen, the "now" of automatic expiry
}

// New returns an empty Set that remembers keys for window (rounded down to
// whole seconds, at least one second), with a random hash seed.
func New(window time.Duration) *Set {
	s := &Set{window: uint32(max(1, min(window/time.Second, math.MaxUint32))), seed: rand.Uint64()}
	s.alloc(minSlots)
	return s
}

// Window returns how long a key is remembered.
func (s *Set) Window() time.Duration { return time.Duration(s.window) * time.Second }

// Len returns the number of remembered keys, including expired ones not yet
// removed by Expire.
func (s *Set) Len() int { return s.live }

// seconds converts t to the Set's clock, clamped to what a uint32 holds
// (1970 to 2106).
func seconds(t time.Time) uint32 {
	return uint32(max(0, min(t.Unix(), math.MaxUint32)))
}

// within reports whether an entry last sighted at last is still remembered at
// now. Times before last (out-of-order records) count as within.
func (s *Set) within(last, now uint32) bool {
	return now < last || now-last < s.window
}

// Seen reports whether key was sighted less than a window before at.
func (s *Set) Seen(key uint64, at time.Time) bool {
	i, ok := s.find(norm(key))
	return ok && s.within(s.at[i], seconds(at))
}

// Add records a sighting of key at at. A window runs from the latest
// sighting, duplicates included: that makes the answers a function of the
// last window of records only, so replaying one window rebuilds them.
func (s *Set) Add(key uint64, at time.Time) {
	s.Check(key, at)
}

// Check is Seen followed by Add, in one probe: it reports whether key is a
// duplicate (drop) and records the sighting either way.
func (s *Set) Check(key uint64, at time.Time) (duplicate bool) {
	key = norm(key)
	now := seconds(at)
	s.watermark = max(s.watermark, now)
	i, ok := s.find(key)
	if ok {
		duplicate = s.within(s.at[i], now)
		s.at[i] = max(s.at[i], now)
		return duplicate
	}
	if (s.live+1)*maxLoadDen > len(s.keys)*maxLoadNum {
		s.makeRoom()
		i, _ = s.find(key)
	}
	s.keys[i], s.at[i] = key, now
	s.live++
	return false
}

// norm moves a key off the empty marker, as Key does.
func norm(key uint64) uint64 {
	if key == empty {
		return 1
	}
	return key
}

// home is key's first slot: Fibonacci hashing, so keys that are not
// uniform hashes (small counters from a caller) still spread out.
func (s *Set) home(key uint64) uint64 { return (key * 0x9E3779B97F4A7C15) >> s.shift }

// find returns key's slot and true, or the empty slot where it would go.
func (s *Set) find(key uint64) (uint64, bool) {
	for i := s.home(key); ; i = (i + 1) & s.mask {
		switch s.keys[i] {
		case key:
			return i, true
		case empty:
			return i, false
		}
	}
}

// makeRoom expires old keys at the watermark and doubles the table if it is
// still more than half full, so the next call is slots/4 inserts away.
func (s *Set) makeRoom() {
	s.expire(s.watermark)
	if (s.live+1)*2 > len(s.keys) {
		s.rehash(len(s.keys) * 2)
	}
}

// Expire removes the keys last sighted a window or more before now and returns
// how many. It scans the whole table; call it now and then (say once per
// minute of record time) to free memory sooner than automatic expiry would.
// A table left mostly empty shrinks.
func (s *Set) Expire(now time.Time) int {
	n := s.expire(seconds(now))
	if s.live*8 < len(s.keys) && len(s.keys) > minSlots {
		s.rehash(slotsFor(s.live * 2))
	}
	return n
}

func (s *Set) expire(now uint32) int {
	// Start right after an empty slot so no probe chain wraps past the start:
	// then backward shifts only move keys into slots at or after the cursor.
	var start uint64
	for s.keys[start] != empty {
		start++
	}
	removed := 0
	for n := uint64(1); n <= s.mask+1; n++ {
		i := (start + n) & s.mask
		for s.keys[i] != empty && !s.within(s.at[i], now) {
			s.deleteAt(i)
			removed++
		}
	}
	s.live -= removed
	return removed
}

// deleteAt empties slot i and shifts the rest of its probe chain back, so
// no tombstones are needed and lookups still stop at the first empty slot.
func (s *Set) deleteAt(i uint64) {
	for j := (i + 1) & s.mask; s.keys[j] != empty; j = (j + 1) & s.mask {
		home := s.home(s.keys[j])
		// The key at j may move to i unless its home lies in (i, j].
		if d := (home - i) & s.mask; d == 0 || d > (j-i)&s.mask {
			s.keys[i], s.at[i] = s.keys[j], s.at[j]
			i = j
		}
	}
	s.keys[i], s.at[i] = empty, 0
}

func (s *Set) alloc(n int) {
	s.keys = make([]uint64, n)
	s.at = make([]uint32, n)
	s.mask = uint64(n - 1)
	s.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	s.live = 0
}

// rehash moves every key into n fresh slots.
func (s *Set) rehash(n int) {
	keys, at := s.keys, s.at
	s.alloc(n)
	for i, k := range keys {
		if k != empty {
			j, _ := s.find(k)
			s.keys[j], s.at[j] = k, at[i]
			s.live++
		}
	}
}

// slotsFor is the smallest power of two holding n keys under the max load.
func slotsFor(n int) int {
	need := n*maxLoadDen/maxLoadNum + 1
	if need <= minSlots {
		return minSlots
	}
	return 1 << bits.Len(uint(need-1))
}
