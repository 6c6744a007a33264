package api

import (
	"context"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas"
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
	v := make([]byte, 0, 512+min(len(body), s.cfg.DeadLetterBodyBytes)*11/10)
	v = append(v, `{"reason":`...)
	v = schemas.AppendJSONString(v, e.message)
	v = append(v, `,"code":`...)
	v = schemas.AppendJSONString(v, e.code)
	v = append(v, `,"status":`...)
	v = strconv.AppendInt(v, int64(e.status), 10)
	if e.index >= 0 {
		v = append(v, `,"index":`...)
		v = strconv.AppendInt(v, int64(e.index), 10)
	}
	if messageID != "" {
		v = append(v, `,"messageId":`...)
		v = schemas.AppendJSONString(v, messageID)
	}
	if e.field != "" {
		v = append(v, `,"field":`...)
		v = schemas.AppendJSONString(v, e.field)
	}
	v = append(v, `,"workspace":`...)
	v = schemas.AppendJSONString(v, s.workspace)
	v = append(v, `,"source":`...)
	v = schemas.AppendJSONString(v, src.name)
	v = append(v, `,"route":`...)
	v = schemas.AppendJSONString(v, route)
	v = append(v, `,"receivedAt":`...)
	v = schemas.AppendJSONString(v, receivedAt.UTC().Format(time.RFC3339Nano))
	v = append(v, `,"bodyBytes":`...)
	v = strconv.AppendInt(v, int64(len(body)), 10)
	prefix := body[:min(len(body), s.cfg.DeadLetterBodyBytes)]
	v = append(v, `,"body":`...)
	v = schemas.AppendJSONString(v, string(prefix))
	v = append(v, `,"truncated":`...)
	v = strconv.AppendBool(v, len(prefix) < len(body))
	v = append(v, '}')
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
