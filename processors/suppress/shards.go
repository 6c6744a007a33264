package suppress

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// Layout of a fingerprint's h: the top shardBits pick the shard, the low bits
// pick the first slot, and tagShift's 7 bits make the slot's tag. The three
// never overlap below 2^48 slots per shard.
const (
	shardBits  = 8
	numShards  = 1 << shardBits
	tagShift   = 48
	minSlots   = 8
	maxLoadNum = 3 // a shard resizes when used slots reach 3/4
	maxLoadDen = 4
)

// Control byte of a slot.
const (
	ctrlEmpty   = 0
	ctrlDeleted = 1
	ctrlFull    = 0x80 // | 7-bit tag
)

func tagOf(k fingerprint) byte { return ctrlFull | byte(k.h>>tagShift)&0x7f }

// shard is one open-addressing table with linear probing. ctrl holds one byte
// per slot (empty, deleted, or full with a 7-bit tag from h), so a probe reads
// the small ctrl array and touches the fingerprints only on a tag match: a
// lookup that misses (the common case) stays in ctrl, 1 byte per slot. keys
// packs each slot's fingerprint in 3 words (h low, h high, c) so a hit reads
// one place; vals does the same for a map's values and is nil in a set. All
// arrays are pointer-free.
type shard struct {
	mu   sync.RWMutex
	ctrl []byte
	keys []uint32
	vals []uint32
	live int // full slots
	used int // full plus deleted
	// Keeps the next shard's mutex off this shard's cache lines.
	_ [64]byte
}

// words per packed fingerprint.
const fpWords = 3

func load3(w []uint32, i uint64) fingerprint {
	s := w[i*fpWords : i*fpWords+fpWords : i*fpWords+fpWords]
	return fingerprint{h: uint64(s[0]) | uint64(s[1])<<32, c: s[2]}
}

func store3(w []uint32, i uint64, f fingerprint) {
	s := w[i*fpWords : i*fpWords+fpWords : i*fpWords+fpWords]
	s[0], s[1], s[2] = uint32(f.h), uint32(f.h>>32), f.c
}

// shardTable is a fingerprint set (values false) or a fingerprint→fingerprint
// map (values true), split into shards that lock independently.
type shardTable struct {
	values bool
	live   atomic.Int64
	shards [numShards]shard
}

func newShardTable(values bool) *shardTable {
	t := &shardTable{values: values}
	for i := range t.shards {
		t.shards[i].alloc(minSlots, values)
	}
	return t
}

func (t *shardTable) shardOf(k fingerprint) *shard {
	return &t.shards[k.h>>(64-shardBits)]
}

// reserve sizes every shard for n keys in total, so a load does not resize.
func (t *shardTable) reserve(n int) {
	want := slotsFor(n/numShards + 1)
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		if want > len(s.ctrl) {
			s.rehash(want, t.values)
		}
		s.mu.Unlock()
	}
}

// slotsFor is the smallest power of two that holds n keys under the max load.
func slotsFor(n int) int {
	need := n*maxLoadDen/maxLoadNum + 1
	if need <= minSlots {
		return minSlots
	}
	return 1 << bits.Len(uint(need-1))
}

// contains reports whether k is in the table.
func (t *shardTable) contains(k fingerprint) bool {
	s := t.shardOf(k)
	s.mu.RLock()
	i := s.find(k)
	s.mu.RUnlock()
	return i >= 0
}

// get returns the value stored for k.
func (t *shardTable) get(k fingerprint) (fingerprint, bool) {
	s := t.shardOf(k)
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := s.find(k)
	if i < 0 {
		return fingerprint{}, false
	}
	return load3(s.vals, uint64(i)), true
}

// put inserts k (with value v in a map) or replaces its value.
func (t *shardTable) put(k, v fingerprint) {
	s := t.shardOf(k)
	s.mu.Lock()
	if s.put(k, v, t.values) {
		t.live.Add(1)
	}
	s.mu.Unlock()
}

// remove deletes k; absent keys are no-ops.
func (t *shardTable) remove(k fingerprint) {
	s := t.shardOf(k)
	s.mu.Lock()
	if s.remove(k) {
		t.live.Add(-1)
	}
	s.mu.Unlock()
}

func (s *shard) alloc(n int, values bool) {
	s.ctrl = make([]byte, n)
	s.keys = make([]uint32, n*fpWords)
	s.vals = nil
	if values {
		s.vals = make([]uint32, n*fpWords)
	}
	s.live, s.used = 0, 0
}

// find returns k's slot or -1. The max load keeps an empty slot, so it ends.
func (s *shard) find(k fingerprint) int {
	mask := uint64(len(s.ctrl) - 1)
	tag := tagOf(k)
	for i := k.h & mask; ; i = (i + 1) & mask {
		switch s.ctrl[i] {
		case ctrlEmpty:
			return -1
		case tag:
			if load3(s.keys, i) == k {
				return int(i)
			}
		}
	}
}

// put inserts or updates k and reports whether it was added.
func (s *shard) put(k, v fingerprint, values bool) bool {
	if i := s.find(k); i >= 0 {
		if values {
			store3(s.vals, uint64(i), v)
		}
		return false
	}
	if (s.used+1)*maxLoadDen > len(s.ctrl)*maxLoadNum {
		// Mostly deleted slots: clean them at the same size. Mostly live:
		// double. Either way the next resize is len/4 inserts away.
		n := len(s.ctrl)
		if (s.live+1)*2 > n {
			n *= 2
		}
		s.rehash(n, values)
	}
	mask := uint64(len(s.ctrl) - 1)
	i := k.h & mask
	for s.ctrl[i] >= ctrlFull {
		i = (i + 1) & mask
	}
	if s.ctrl[i] == ctrlEmpty {
		s.used++
	}
	s.live++
	s.ctrl[i] = tagOf(k)
	store3(s.keys, i, k)
	if values {
		store3(s.vals, i, v)
	}
	return true
}

// remove marks k's slot deleted and reports whether k was present. Deleted
// slots keep later keys of the probe chain reachable.
func (s *shard) remove(k fingerprint) bool {
	i := s.find(k)
	if i < 0 {
		return false
	}
	s.ctrl[i] = ctrlDeleted
	s.live--
	return true
}

// rehash moves the live keys into n fresh slots, dropping deleted ones.
func (s *shard) rehash(n int, values bool) {
	octrl, okeys, ovals := s.ctrl, s.keys, s.vals
	s.alloc(n, values)
	for i, ctrl := range octrl {
		if ctrl >= ctrlFull {
			var v fingerprint
			if values {
				v = load3(ovals, uint64(i))
			}
			s.put(load3(okeys, uint64(i)), v, values)
		}
	}
}
