package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/sluicehq/sluice/schemas"
)

// apiError is a refused request: its status, a stable code and a message for
// whoever reads the response, and where in the body the fault is.
type apiError struct {
	status  int
	code    string
	message string
	// index is the batch item at fault, -1 for none; field the field.
	index int
	field string
	// retryAfter is the Retry-After of a 429, in whole seconds.
	retryAfter int
	// badInput marks input the dead-letter topic records (DESIGN guarantee 4).
	badInput bool
}

// Codes of the errors that are not a schemas.Rule.
const (
	codeUnauthorized      = "unauthorized"
	codeMediaType         = "unsupported_media_type"
	codeEncoding          = "unsupported_encoding"
	codeInvalidGzip       = "invalid_gzip"
	codeRateLimited       = "rate_limited"
	codeBrokerUnavailable = "broker_unavailable"
	codeMethod            = "method_not_allowed"
	codeNotFound          = "not_found"
	codeInternal          = "internal_error"
	codeOriginNotAllowed  = "origin_not_allowed"
)

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message, index: -1}
}

// classify decides the answer to every refusal, with the reason beside each
// case. It is the only place that maps a failure to a status.
func classify(err error) *apiError {
	var de *schemas.Error
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &de):
		// The sender's fault, never worth a retry as is: 413 when a size
		// or count limit is broken (the sender may split the batch), 400
		// for every other rule. Both are recorded on the dead-letter topic.
		status := http.StatusBadRequest
		if de.Rule.TooLarge() {
			status = http.StatusRequestEntityTooLarge
		}
		return &apiError{status: status, code: string(de.Rule), message: de.Error(),
			index: de.Index, field: de.Field, badInput: true}
	default:
		// Anything else on the produce path means the broker did not take
		// every event (unreachable, not enough replicas, buffer full, timed
		// out): 503, which every Segment SDK retries. Events of the request
		// may have been written; the retry carries the same messageIds.
		return newError(http.StatusServiceUnavailable, codeBrokerUnavailable,
			"the broker did not acknowledge every event, retry: "+err.Error())
	}
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// errorBody is the JSON of every refusal.
type errorBody struct {
	Success bool   `json:"success"`
	Code    string `json:"code"`
	Message string `json:"message"`
	Index   *int   `json:"index,omitempty"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := errorBody{Code: e.code, Message: e.message, Field: e.field}
	if e.index >= 0 {
		body.Index = &e.index
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
		// analytics.js's batching dispatcher reads this one, in seconds.
		h.Set("X-RateLimit-Reset", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(body)
}

var successBody = []byte(`{"success":true}` + "\n")

// refusedItem is one refused batch item in a 200 answer.
type refusedItem struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// writeBatchResult answers a request whose accepted events the broker has:
// {"success":true}, with "refused" listing the batch items that were not
// accepted, when there are any.
func writeBatchResult(w http.ResponseWriter, refused []schemas.Refusal) {
	if len(refused) == 0 {
		writeSuccess(w)
		return
	}
	body := struct {
		Success bool          `json:"success"`
		Refused []refusedItem `json:"refused"`
	}{Success: true, Refused: make([]refusedItem, len(refused))}
	for i, rf := range refused {
		body.Refused[i] = refusedItem{Index: rf.Index, MessageID: rf.MessageID, Code: string(rf.Err.Rule), Message: rf.Err.Error()}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(body)
}

func writeSuccess(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(successBody)
}
