package shred

import (
	"encoding/json"
	"fmt"
	"time"
)

// record is a keys-topic value: the data key wrapped by a KEK.
//
//	{"kek":"k1","dek":"<base64: nonce ‖ AES-256-GCM(KEK, data key) ‖ tag>","at":"2026-01-02T03:04:05Z"}
//
// The wrap's additional data binds it to the record key and the KEK id
// (wrapAAD). at is when the key was created (or re-wrapped); it is for
// people, readers do not need it.
type record struct {
	KEK string    `json:"kek"`
	DEK []byte    `json:"dek"`
	At  time.Time `json:"at"`
}

// Record is one keys-topic record: Key from RecordKey, Value the wrapped data
// key, or nil for a tombstone (the key is shredded).
type Record struct {
	Key   []byte
	Value []byte
}

// WrapRecord is the keys-topic record of data key dek of subject s, wrapped
// by the keyring's current KEK.
func (k *Keyring) WrapRecord(s Subject, id KeyID, dek *DEK, at time.Time) Record {
	key := RecordKey(s, id)
	kek, wrapped := k.wrap(key, dek)
	v, _ := json.Marshal(record{KEK: kek, DEK: wrapped, At: at.UTC()}) // plain data: cannot fail
	return Record{Key: key, Value: v}
}

// Tombstone is the record that shreds data key id of subject s.
func Tombstone(s Subject, id KeyID) Record { return Record{Key: RecordKey(s, id)} }

// unwrapRecord reads a keys-topic value for record key key and unwraps its
// data key; kek is the KEK that wrapped it (also on ErrUnknownKEK).
func (k *Keyring) unwrapRecord(key, value []byte) (dek DEK, kek string, err error) {
	var r record
	if err := json.Unmarshal(value, &r); err != nil {
		return dek, "", fmt.Errorf("shred: a keys-topic value that is not a wrapped key: %w", err)
	}
	dek, err = k.unwrap(key, r.KEK, r.DEK)
	return dek, r.KEK, err
}
