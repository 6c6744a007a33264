package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/schemas"
)

// tracking handles one tracking route. The checks run cheapest first:
// method, write key in the header, media type and encoding, the body within
// its limit, Segment's rules, a write key from the body, the source's rate,
// and last the broker.
func (s *Server) tracking(route string, typ schemas.Type, label string) http.Handler {
	tooLarge := schemas.RuleEventTooLarge
	if typ == "" {
		tooLarge = schemas.RuleBatchTooLarge
	}
	limit := s.cfg.Limits.MaxBodyBytes(typ)
	bodyBytes := s.metrics.bytes.WithLabelValues(label)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST, OPTIONS")
			s.refuse(w, newError(http.StatusMethodNotAllowed, codeMethod, "use POST"))
			return
		}
		receivedAt := time.Now().UTC()
		var src *source
		key, present, ok := basicWriteKey(r)
		if present {
			if !ok {
				s.refuse(w, newError(http.StatusUnauthorized, codeUnauthorized,
					"the Authorization header must be Basic with the write key as user"))
				return
			}
			var aerr *apiError
			if src, aerr = s.source(key); aerr != nil {
				s.refuse(w, aerr)
				return
			}
			if aerr := checkOrigin(w, r, src); aerr != nil {
				s.refuse(w, aerr)
				return
			}
		}
		if aerr := checkContentType(r); aerr != nil {
			s.refuse(w, aerr)
			return
		}

		st := s.getState()
		defer s.putState(st)
		body, aerr := readBody(w, r, limit, tooLarge, st.body)
		st.body = body
		bodyBytes.Add(float64(len(body)))
		if aerr == nil {
			call := schemas.Call{Type: typ, ReceivedAt: receivedAt}
			if err := s.dec.Decode(body, call, &st.payload); err != nil {
				aerr = classify(err)
			}
		}
		if aerr != nil {
			if src == nil {
				// Without a valid write key the answer is 401, not the
				// fault: strangers learn nothing and fill no dead letters.
				// The key is looked for in as much of the body as was read.
				var kerr *apiError
				if src, kerr = s.source(schemas.FindWriteKey(body)); kerr != nil {
					s.refuse(w, kerr)
					return
				}
				if kerr := checkOrigin(w, r, src); kerr != nil {
					s.refuse(w, kerr)
					return
				}
			}
			s.refuseInput(w, r, route, src, receivedAt, aerr, body)
			return
		}
		if src == nil {
			if src, aerr = s.source(st.payload.WriteKey); aerr != nil {
				s.refuse(w, aerr)
				return
			}
			if aerr := checkOrigin(w, r, src); aerr != nil {
				s.refuse(w, aerr)
				return
			}
		}
		defer clear(st.payload.Refused)
		n := len(st.payload.Events)
		if n == 0 {
			// Every item of the batch was refused: nothing to produce.
			s.refuseItems(r, route, src, receivedAt, st.payload.Refused)
			writeBatchResult(w, st.payload.Refused)
			return
		}
		if src.limiter != nil {
			if ok, wait := src.limiter.take(n, receivedAt); !ok {
				e := newError(http.StatusTooManyRequests, codeRateLimited,
					"source "+src.name+" is over its rate limit of "+strconv.FormatFloat(src.limiter.rate, 'g', -1, 64)+
						" events per second; retry after Retry-After seconds")
				e.retryAfter = retryAfterSeconds(wait)
				s.refuse(w, e)
				return
			}
		}
		s.setIPs(r, src, st.payload.Events)
		if err := s.produce(r.Context(), st, src, receivedAt); err != nil {
			if r.Context().Err() != nil {
				return // the client went away: nobody reads an answer
			}
			aerr := classify(err)
			s.log.Error("api: events not acknowledged", "route", route, "source", src.name, "events", n, "err", err)
			s.refuse(w, aerr)
			return
		}
		src.accepted.Add(float64(n))
		// Refused items are dead-lettered once the answer is a 2xx: after a
		// 503 the sender retries the whole batch and they come again.
		s.refuseItems(r, route, src, receivedAt, st.payload.Refused)
		writeBatchResult(w, st.payload.Refused)
	})
}

// refuseItems records each refused batch item on the dead-letter topic, the
// item's bytes as its body, and counts it.
func (s *Server) refuseItems(r *http.Request, route string, src *source, receivedAt time.Time, refused []schemas.Refusal) {
	for _, rf := range refused {
		e := classify(rf.Err)
		s.metrics.itemsRefused.WithLabelValues(e.code).Inc()
		s.deadLetter(r.Context(), route, src, receivedAt, e, rf.Item)
	}
}

// refuse answers an error and counts it.
func (s *Server) refuse(w http.ResponseWriter, e *apiError) {
	s.metrics.rejected.WithLabelValues(e.code).Inc()
	writeError(w, e)
}

// refuseInput answers bad input and records it on the dead-letter topic.
func (s *Server) refuseInput(w http.ResponseWriter, r *http.Request, route string, src *source, receivedAt time.Time, e *apiError, body []byte) {
	if e.badInput {
		s.deadLetter(r.Context(), route, src, receivedAt, e, body)
	}
	s.log.Debug("api: input refused", "route", route, "code", e.code, "err", e.message)
	s.refuse(w, e)
}
