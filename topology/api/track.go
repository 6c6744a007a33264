package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sluicehq/sluice/schemas"
)

// tracking handles one tracking route. The checks run cheapest first:
// method, write key in the header with its origin and rate, media type and
// encoding, the body within its limit, Segment's rules, a write key from
// the body with its origin and rate, and last the broker. Every request of
// a known source is charged to its rate, refused input included; requests
// without a valid write key are charged to their client's network.
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
		switch {
		case present && !ok:
			s.refuseStranger(w, r, receivedAt, newError(http.StatusUnauthorized, codeUnauthorized,
				"the Authorization header must be Basic with the write key as user"))
			return
		case present:
			if src = s.admit(w, r, key, receivedAt); src == nil {
				return
			}
		default:
			// The write key is in the body, which must be read to find
			// it: not for a client already over its stranger budget.
			if aerr := s.strangerOverBudget(r, receivedAt); aerr != nil {
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
			// Without a valid write key the answer is 401, not the
			// fault: strangers learn nothing and fill no dead letters.
			// The key is looked for in as much of the body as was read.
			if src == nil {
				if src = s.admit(w, r, schemas.FindWriteKey(body), receivedAt); src == nil {
					return
				}
			}
			s.refuseInput(w, r, route, src, receivedAt, aerr, body)
			return
		}
		if src == nil {
			if src = s.admit(w, r, st.payload.WriteKey, receivedAt); src == nil {
				return
			}
		}
		defer clear(st.payload.Refused)
		n := len(st.payload.Events)
		src.charge(n+len(st.payload.Refused), receivedAt)
		if n == 0 {
			// Every item of the batch was refused: nothing to produce.
			s.refuseItems(r, route, src, receivedAt, st.payload.Refused)
			writeBatchResult(w, st.payload.Refused)
			return
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

// admit returns the source of write key key if its request may go on: the
// key is known (else 401, charged to the client's network), the request's
// origin allowed (else 403), and the source not over its rate (else 429).
// It answers the refusals and returns nil for them.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, key string, now time.Time) *source {
	src, aerr := s.source(key)
	if aerr != nil {
		s.refuseStranger(w, r, now, aerr)
		return nil
	}
	if aerr := checkOrigin(w, r, src); aerr != nil {
		s.refuse(w, aerr)
		return nil
	}
	if aerr := src.overRate(now); aerr != nil {
		s.refuse(w, aerr)
		return nil
	}
	return src
}

// overRate is the 429 of a source whose budget is overdrawn at now.
func (src *source) overRate(now time.Time) *apiError {
	if src.limiter == nil {
		return nil
	}
	wait := src.limiter.wait(now)
	if wait == 0 {
		return nil
	}
	e := newError(http.StatusTooManyRequests, codeRateLimited,
		"source "+src.name+" is over its rate limit of "+strconv.FormatFloat(src.limiter.rate, 'g', -1, 64)+
			" events per second; retry after Retry-After seconds")
	e.retryAfter = retryAfterSeconds(wait)
	return e
}

// charge takes n events (accepted or refused) from the source's budget.
func (src *source) charge(n int, now time.Time) {
	if src.limiter != nil {
		src.limiter.spend(n, now)
	}
}

// refuseStranger answers a request without a valid write key with e (401)
// and charges it to the client's network; once that network is over its
// StrangerRate, the answer is 429.
func (s *Server) refuseStranger(w http.ResponseWriter, r *http.Request, now time.Time, e *apiError) {
	if over := s.strangerOverBudget(r, now); over != nil {
		s.refuse(w, over)
		return
	}
	if a, ok := s.clientAddr(r); ok {
		s.strangers.spend(a, now)
	}
	s.refuse(w, e)
}

// strangerOverBudget is the 429 of a client network over its StrangerRate.
func (s *Server) strangerOverBudget(r *http.Request, now time.Time) *apiError {
	a, ok := s.clientAddr(r)
	if !ok {
		return nil
	}
	wait := s.strangers.wait(a, now)
	if wait == 0 {
		return nil
	}
	e := newError(http.StatusTooManyRequests, codeRateLimited,
		"too many requests without a valid write key from this network; retry after Retry-After seconds")
	e.retryAfter = retryAfterSeconds(wait)
	return e
}

// refuseItems records each refused batch item on the dead-letter topic, the
// item's bytes as its body, and counts it.
func (s *Server) refuseItems(r *http.Request, route string, src *source, receivedAt time.Time, refused []schemas.Refusal) {
	for _, rf := range refused {
		e := classify(rf.Err)
		s.metrics.itemsRefused.WithLabelValues(e.code).Inc()
		s.deadLetter(r.Context(), route, src, receivedAt, e, rf.MessageID, rf.Item)
	}
}

// refuse answers an error and counts it.
func (s *Server) refuse(w http.ResponseWriter, e *apiError) {
	s.metrics.rejected.WithLabelValues(e.code).Inc()
	writeError(w, e)
}

// refuseInput answers bad input, charges it to the source's rate as one
// event and records it on the dead-letter topic.
func (s *Server) refuseInput(w http.ResponseWriter, r *http.Request, route string, src *source, receivedAt time.Time, e *apiError, body []byte) {
	src.charge(1, receivedAt)
	if e.badInput {
		s.deadLetter(r.Context(), route, src, receivedAt, e, "", body)
	}
	s.log.Debug("api: input refused", "route", route, "code", e.code, "err", e.message)
	s.refuse(w, e)
}
