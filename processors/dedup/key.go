package dedup

import (
	"encoding/binary"

	"github.com/cespare/xxhash/v2"
)

// Key returns the hash the Set remembers for a workspace's messageId. It
// depends on the Set's seed, which snapshots carry along.
func (s *Set) Key(workspace, messageID string) uint64 {
	var sb [160]byte
	buf := binary.LittleEndian.AppendUint64(sb[:0], s.seed)
	buf = append(buf, workspace...)
	buf = append(buf, 0)
	buf = append(buf, messageID...)
	return norm(xxhash.Sum64(buf))
}
