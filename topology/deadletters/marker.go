package deadletters

import (
	"encoding/json"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Headers of the records a replay writes.
const (
	// HeaderReplay, on a replayed dest.<name> record, names its replay (the
	// id of the replay's audit record).
	HeaderReplay = "sluice-replay"
	// HeaderLetter, on a replayed dest.<name> record, is the ID of the dead
	// letter it re-delivers.
	HeaderLetter = "sluice-deadletter"
	// headerMarker marks a replay marker on the deadletter topic.
	headerMarker = "sluice-replay-marker"
)

// marker is a deadletter-topic record that says which letters a replay
// re-delivered. It is written in the replay's transaction, so it exists
// exactly when the replayed records do. It holds letter IDs only, no
// personal data, and is not sealed.
type marker struct {
	Replay      string    `json:"replay"`
	Destination string    `json:"destination"`
	At          time.Time `json:"at"`
	Letters     []string  `json:"letters"`
}

// markerLetters caps the letter IDs of one marker record (about 10 bytes
// each), far below the topic's record size.
const markerLetters = 10_000

// markers are the marker records of a replay of letters, split to size.
func markers(topic string, m marker, letters []string) []*kgo.Record {
	var out []*kgo.Record
	for len(letters) > 0 {
		n := min(len(letters), markerLetters)
		m.Letters = letters[:n]
		v, _ := json.Marshal(m) // strings and a time: cannot fail
		out = append(out, &kgo.Record{Topic: topic, Value: v, Timestamp: m.At,
			Headers: []kgo.RecordHeader{{Key: headerMarker, Value: []byte("1")}}})
		letters = letters[n:]
	}
	return out
}

// readMarker reads r as a replay marker; ok is false when it is not one.
func readMarker(r *kgo.Record) (m marker, ok bool) {
	for _, h := range r.Headers {
		if h.Key == headerMarker {
			return m, json.Unmarshal(r.Value, &m) == nil && m.Replay != ""
		}
	}
	return m, false
}
