package shred

import "errors"

// Reason is the metrics label of an error from Open, Seal or the table: why
// a value could not be read or written. It is the one place these errors
// are classified.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrShredded):
		return "key_shredded"
	case errors.Is(err, ErrUnwrappable):
		return "key_unwrappable"
	case errors.Is(err, ErrNotSealed):
		return "not_sealed"
	case errors.Is(err, ErrNotReady):
		return "not_ready"
	}
	return "unreadable_envelope"
}
