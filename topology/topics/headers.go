package topics

import (
	"encoding/binary"
	"strconv"

	"github.com/cespare/xxhash/v2"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Record headers sluice writes. They carry no user data: values stay sealed
// (package processors/shred), headers stay readable without the subject's key.
const (
	// HeaderMessageHash is on every dest.<name> record (the router writes
	// it, `sluice deadletter replay` keeps it) and on the sink's dead
	// letters: MessageHash of the event's workspace and messageId, 8 bytes
	// big-endian. The sink skips a messageId it already delivered by it
	// (package topology/delivery).
	HeaderMessageHash = "sluice-mid"
	// HeaderDestination, HeaderOrigin and HeaderReason are on the sink's
	// dead letters: the destination's name, where the record was consumed
	// ("<partition>/<offset>" of dest.<name>, decimal) and a short reason
	// (permanent, retry_horizon, undecodable).
	HeaderDestination = "sluice-destination"
	HeaderOrigin      = "sluice-origin"
	HeaderReason      = "sluice-reason"
)

// MessageHash is the stable, unseeded 64-bit hash of a workspace's
// messageId: xxHash64 of workspace, a zero byte, messageId. Every process
// computes the same value, which is what lets a sink rebuild its memory of
// delivered messageIds from headers alone.
func MessageHash(workspace, messageID string) uint64 {
	var sb [160]byte
	buf := append(sb[:0], workspace...)
	buf = append(buf, 0)
	buf = append(buf, messageID...)
	return xxhash.Sum64(buf)
}

// MessageHashHeader is the HeaderMessageHash header of an event.
func MessageHashHeader(workspace, messageID string) kgo.RecordHeader {
	return kgo.RecordHeader{Key: HeaderMessageHash, Value: binary.BigEndian.AppendUint64(nil, MessageHash(workspace, messageID))}
}

// MessageHashOf returns the HeaderMessageHash of a record's headers; ok is
// false when there is none or its value is not 8 bytes.
func MessageHashOf(headers []kgo.RecordHeader) (hash uint64, ok bool) {
	v, ok := HeaderValue(headers, HeaderMessageHash)
	if !ok || len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// HeaderValue returns the value of the first header named key.
func HeaderValue(headers []kgo.RecordHeader, key string) ([]byte, bool) {
	for _, h := range headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

// Origin is the HeaderOrigin value of a record consumed at partition/offset.
func Origin(partition int32, offset int64) []byte {
	b := strconv.AppendInt(nil, int64(partition), 10)
	b = append(b, '/')
	return strconv.AppendInt(b, offset, 10)
}

// ParseOrigin reads an Origin value; ok is false for anything else.
func ParseOrigin(v []byte) (partition int32, offset int64, ok bool) {
	for i, c := range v {
		if c != '/' {
			continue
		}
		p, err1 := strconv.ParseInt(string(v[:i]), 10, 32)
		o, err2 := strconv.ParseInt(string(v[i+1:]), 10, 64)
		if err1 != nil || err2 != nil || p < 0 || o < 0 {
			return 0, 0, false
		}
		return int32(p), o, true
	}
	return 0, 0, false
}
