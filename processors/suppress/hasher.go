package suppress

import "hash/maphash"

// fingerprint is the 96-bit stand-in for one subject: h picks the shard, the
// slot and the slot's tag; c is a check that must match too.
type fingerprint struct {
	h uint64
	c uint32
}

// Hasher turns subjects into fingerprints. Tables that look up each other's
// fingerprints (Table and Identities under one Stage) must share a Hasher.
// The zero Hasher is not usable; call NewHasher.
type Hasher struct {
	seed1, seed2 maphash.Seed
}

// NewHasher returns a Hasher with random seeds, so that outside ids cannot be
// chosen to collide in the tables' probe chains.
func NewHasher() Hasher {
	return Hasher{seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed()}
}

// stackBuf is large enough for most keys; longer ones spill to the heap.
type stackBuf [160]byte

// key fingerprints a key in "<workspace>/<subjectType>/<id>" form.
func (hs Hasher) key(key []byte) fingerprint {
	return fingerprint{h: maphash.Bytes(hs.seed1, key), c: uint32(maphash.Bytes(hs.seed2, key))}
}

// subject fingerprints "<workspace>/<typ>/<id>", the key of a suppression.
func (hs Hasher) subject(workspace string, typ SubjectType, id string) fingerprint {
	var sb stackBuf
	buf := append(sb[:0], workspace...)
	buf = append(buf, '/')
	buf = append(buf, typ...)
	buf = append(buf, '/')
	buf = append(buf, id...)
	return hs.key(buf)
}
