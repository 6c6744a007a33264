package filter

// Event is what filters read of an event. Properties, Context and Traits are
// raw JSON objects as received (nil or "null" when absent).
type Event struct {
	Type        string
	Event       string
	UserID      string
	AnonymousID string
	MessageID   string
	Properties  []byte
	Context     []byte
	Traits      []byte
}

// Reason says why a chain dropped an event; ReasonNone means kept.
type Reason string

// Reasons, stable strings for metrics labels.
const (
	ReasonNone            Reason = ""
	ReasonSampledOut      Reason = "sampled_out"
	ReasonDropped         Reason = "dropped"
	ReasonExpressionError Reason = "expression_error"
	ReasonPropertiesError Reason = "properties_error"
)

// Result is the outcome of a chain for one event.
type Result struct {
	// Keep is true when the event goes on to the destination.
	Keep bool
	// Reason says why it was dropped.
	Reason Reason
	// Filter is the index, in the specs given to Compile, of the filter that
	// dropped the event, or -1.
	Filter int
	// Properties are the properties to deliver when kept: the input slice
	// itself when no property filter changed anything.
	Properties []byte
	// Err explains ReasonExpressionError and ReasonPropertiesError.
	Err error
}
