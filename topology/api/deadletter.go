package api

import (
	"context"
	"encoding/json"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/topics"
)

// deadLetter records refused input on the deadletter topic: the reason, the
// code, where in the body (a batch item's index and messageId), the
// workspace and source, and a bounded prefix of the body, sealed under the
// day's unattributed data key (sealDeadLetter). It is best effort: it does
// not wait for the broker (except once a day, for the key) and the
// request's answer never depends on it; the outcome is counted in
// sluice_api_deadletters_total. Past its source's DeadLettersPerSecond the
// record is not written, only counted in sluice_api_deadletters_dropped_total.
func (s *Server) deadLetter(ctx context.Context, route string, src *source, receivedAt time.Time, e *apiError, messageID string, body []byte) {
	if ok, _ := src.deadLetters.take(1, receivedAt); !ok {
		s.metrics.dropped.WithLabelValues(src.name, e.code).Inc()
		return
	}
	prefix := body[:min(len(body), s.cfg.DeadLetterBodyBytes)]
	at, truncated := receivedAt.UTC(), len(prefix) < len(body)
	letter := topics.DeadLetterValue{
		Reason: e.message, Code: e.code, Status: e.status, MessageID: messageID, Field: e.field,
		Workspace: s.workspace, Source: src.name, Route: route, ReceivedAt: &at,
		BodyBytes: len(body), Body: string(prefix), Truncated: &truncated,
	}
	if e.index >= 0 {
		letter.Index = &e.index
	}
	v, _ := json.Marshal(letter) // strings, numbers and a time: cannot fail
	v, ok := s.sealDeadLetter(ctx, receivedAt, v)
	if !ok {
		return
	}

	rec := &kgo.Record{Topic: s.deadLetterTopic, Value: v, Timestamp: receivedAt}
	s.producer.TryProduce(context.WithoutCancel(ctx), rec, func(_ *kgo.Record, err error) {
		result := "written"
		if err != nil {
			result = "failed"
			s.log.Warn("dead-letter record not written", "err", err, "code", e.code)
		}
		s.metrics.deadLetters.WithLabelValues(result).Inc()
	})
}
