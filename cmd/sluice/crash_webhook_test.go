package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"
)

// hookReceiver is a webhook endpoint that records every delivery: for each
// event's messageId, the Idempotency-Keys of the requests that carried it,
// how often each, and when each key first brought it. It answers 200 to
// every well-formed batch and 400 (recorded as a problem) to anything else.
type hookReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	seen     map[string]map[string]*hookSighting // messageId → Idempotency-Key → sighting
	requests int
	// inOneBatch are messageIds a single request carried twice: two
	// records of one event, which no Idempotency-Key can tell apart.
	inOneBatch []string
	problems   []string
	hold       *hookHold // the next request waits on it
}

// hookSighting is one Idempotency-Key's deliveries of one event.
type hookSighting struct {
	count int
	first time.Time
}

// hookHold makes one request wait, once recorded, until release is closed.
type hookHold struct {
	arrived chan struct{}
	release <-chan struct{}
}

// startHookReceiver serves a hookReceiver on loopback until the test ends.
func startHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{seen: map[string]map[string]*hookSighting{}}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	return h
}

// url is where the destination posts its batches.
func (h *hookReceiver) url() string { return h.srv.URL + "/events" }

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the sender went away mid-request: nothing was delivered
	}
	key := r.Header.Get("Idempotency-Key")
	var batch struct {
		Batch []struct {
			MessageID string `json:"messageId"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(body, &batch); err != nil || key == "" || len(batch.Batch) == 0 {
		h.problem(fmt.Sprintf("%s %s with Idempotency-Key %q: %v: %.200s", r.Method, r.URL.Path, key, err, body))
		http.Error(w, "want a non-empty batch and an Idempotency-Key", http.StatusBadRequest)
		return
	}
	now := time.Now()
	h.mu.Lock()
	h.requests++
	inThis := map[string]bool{}
	for _, ev := range batch.Batch {
		if inThis[ev.MessageID] {
			h.inOneBatch = append(h.inOneBatch, ev.MessageID)
		}
		inThis[ev.MessageID] = true
		byKey := h.seen[ev.MessageID]
		if byKey == nil {
			byKey = map[string]*hookSighting{}
			h.seen[ev.MessageID] = byKey
		}
		if byKey[key] == nil {
			byKey[key] = &hookSighting{first: now}
		}
		byKey[key].count++
	}
	hold := h.hold
	h.hold = nil
	h.mu.Unlock()
	if hold != nil {
		close(hold.arrived)
		select {
		case <-hold.release:
		case <-r.Context().Done():
		}
	}
	w.WriteHeader(http.StatusOK)
}

func (h *hookReceiver) problem(p string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.problems = append(h.problems, p)
}

// holdNext makes the next batch, once recorded, wait for its answer until
// release is closed; the channel it returns is closed when that batch has
// arrived. It lets the test kill the sender while a delivery is in flight.
func (h *hookReceiver) holdNext(release <-chan struct{}) <-chan struct{} {
	hold := &hookHold{arrived: make(chan struct{}), release: release}
	h.mu.Lock()
	h.hold = hold
	h.mu.Unlock()
	return hold.arrived
}

// hookTally is what the receiver has seen, summed.
type hookTally struct {
	requests   int
	deliveries int // events over all requests
	present    int // of the wanted messageIds, how many arrived
	// manyKeys are the messageIds that came under more than one
	// Idempotency-Key: copies a receiver deduplicating by key would keep.
	manyKeys []string
	// retries counts deliveries of a messageId again under a key that
	// already brought it: the copies a receiver drops by key (and the
	// inOneBatch copies, which it cannot drop).
	retries    int
	inOneBatch []string
}

// tally sums what has arrived; want are the messageIds expected.
func (h *hookReceiver) tally(want map[string]ackedEvent) hookTally {
	h.mu.Lock()
	defer h.mu.Unlock()
	tl := hookTally{requests: h.requests, inOneBatch: slices.Clone(h.inOneBatch)}
	for id, byKey := range h.seen {
		if _, ok := want[id]; ok {
			tl.present++
		}
		if len(byKey) > 1 {
			tl.manyKeys = append(tl.manyKeys, id)
		}
		for _, s := range byKey {
			tl.deliveries += s.count
			tl.retries += s.count - 1
		}
	}
	return tl
}

// has reports whether the messageId has arrived.
func (h *hookReceiver) has(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[id] != nil
}

// sightings returns a copy of the keys that brought the messageId.
func (h *hookReceiver) sightings(id string) map[string]hookSighting {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]hookSighting{}
	for k, s := range h.seen[id] {
		out[k] = *s
	}
	return out
}

// problemList returns the malformed requests seen.
func (h *hookReceiver) problemList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.problems...)
}
