package schemas

// Limits bound what the tracking API accepts from outside. The zero value of
// each field means its default, which is Segment's published limit where
// Segment has one.
type Limits struct {
	// MaxEventBytes caps one event: a single call's body, or one item of a
	// batch as sent. Default 32 KiB.
	MaxEventBytes int
	// MaxBatchBytes caps a batch request's body. Default 500 KiB.
	MaxBatchBytes int
	// MaxBatchEvents caps the items of one batch. Default 2,500.
	MaxBatchEvents int
	// MaxDepth caps the nesting of objects and arrays inside one event; the
	// event object itself is level 1, its properties level 2. Default 128:
	// far deeper than real payloads go, while a scan's stack stays small.
	MaxDepth int
	// MaxMessageIDChars caps messageId, in Unicode characters. Default 100.
	MaxMessageIDChars int
}

// Default limits.
const (
	DefaultMaxEventBytes     = 32 << 10
	DefaultMaxBatchBytes     = 500 << 10
	DefaultMaxBatchEvents    = 2500
	DefaultMaxDepth          = 128
	DefaultMaxMessageIDChars = 100
)

// WithDefaults returns l with every unset field given its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxEventBytes <= 0 {
		l.MaxEventBytes = DefaultMaxEventBytes
	}
	if l.MaxBatchBytes <= 0 {
		l.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if l.MaxBatchEvents <= 0 {
		l.MaxBatchEvents = DefaultMaxBatchEvents
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxMessageIDChars <= 0 {
		l.MaxMessageIDChars = DefaultMaxMessageIDChars
	}
	return l
}

// MaxBodyBytes is the largest request body (after decompression) a call of
// type t may send: MaxBatchBytes for a batch (t empty), MaxEventBytes otherwise.
func (l Limits) MaxBodyBytes(t Type) int {
	l = l.WithDefaults()
	if t == "" {
		return l.MaxBatchBytes
	}
	return l.MaxEventBytes
}
