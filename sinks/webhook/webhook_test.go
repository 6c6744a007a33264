package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

const secret = "s3cret"

// receiver is a webhook endpoint that follows the documented receiver
// contract: it checks the signature, and drops a batch whose
// Idempotency-Key it has already accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	fail     int           // status to answer with; 0 accepts
	delay    time.Duration // before answering
	keys     map[string]bool
	events   []schemas.Event
	requests int
	deletes  []DeleteBody
	headers  []http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t, keys: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", r.serveEvents)
	mux.HandleFunc("POST /delete", r.serveDelete)
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) read(w http.ResponseWriter, req *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, false
	}
	if err := Verify(req.Header.Get(SignatureHeader), req.Header.Get(IdempotencyHeader), body, time.Now(), secret); err != nil {
		r.t.Errorf("bad signature %q", req.Header.Get(SignatureHeader))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return nil, false
	}
	r.mu.Lock()
	r.requests++
	r.headers = append(r.headers, req.Header.Clone())
	fail, delay := r.fail, r.delay
	r.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return nil, false
		}
	}
	if fail != 0 {
		if fail == http.StatusTooManyRequests || fail == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "7")
		}
		http.Error(w, "nope", fail)
		return nil, false
	}
	return body, true
}

func (r *receiver) serveEvents(w http.ResponseWriter, req *http.Request) {
	body, ok := r.read(w, req)
	if !ok {
		return
	}
	var in struct{ Batch []json.RawMessage }
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	key := req.Header.Get(IdempotencyHeader)
	if r.keys[key] {
		w.WriteHeader(http.StatusOK) // a copy: acknowledged, not stored again
		return
	}
	r.keys[key] = true
	for _, raw := range in.Batch {
		var e schemas.Event
		if err := schemas.DecodeRaw(raw, &e); err != nil {
			r.t.Errorf("event %s: %v", raw, err)
			continue
		}
		r.events = append(r.events, e)
	}
	w.WriteHeader(http.StatusAccepted)
}

func (r *receiver) serveDelete(w http.ResponseWriter, req *http.Request) {
	body, ok := r.read(w, req)
	if !ok {
		return
	}
	var d DeleteBody
	if err := json.Unmarshal(body, &d); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, d)
	r.events = slices.DeleteFunc(r.events, func(e schemas.Event) bool {
		return e.Workspace == d.Workspace && (slices.Contains(d.UserIDs, e.UserID) || slices.Contains(d.AnonymousIDs, e.AnonymousID))
	})
	_, _ = io.WriteString(w, `{"deleted":true}`)
}

func (r *receiver) set(status int, delay time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail, r.delay = status, delay
}

func (r *receiver) config() Config {
	return Config{URL: r.srv.URL + "/events", DeleteURL: r.srv.URL + "/delete", Secret: secret, Timeout: 2 * time.Second}
}

func (r *receiver) Open(t *testing.T) sinks.Sink {
	s, err := Open(r.config())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func (r *receiver) Delivered(*testing.T) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return sinktest.IDs(r.events)
}

func (r *receiver) Break(_ *testing.T, class sinks.Class) {
	if class == sinks.Retryable {
		r.set(http.StatusServiceUnavailable, 0)
	} else {
		r.set(http.StatusUnprocessableEntity, 0)
	}
}

func (r *receiver) Fix(*testing.T) { r.set(0, 0) }

func (r *receiver) Remaining(_ *testing.T, req sinks.DeleteRequest) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Workspace == req.Workspace && (slices.Contains(req.UserIDs, e.UserID) || slices.Contains(req.AnonymousIDs, e.AnonymousID)) {
			n++
		}
	}
	return n
}

func TestConformance(t *testing.T) {
	sinktest.Run(t, sinktest.Harness{New: func(t *testing.T) sinktest.Destination { return newReceiver(t) }})
}

func write(t *testing.T, s sinks.Sink, n int) error {
	return s.Write(t.Context(), sinktest.NewBatch("sluice.dest.crm", 0, 0, sinktest.Events("w", n)))
}

func TestStatusClasses(t *testing.T) {
	r := newReceiver(t)
	s := r.Open(t)
	for _, tc := range []struct {
		status     int
		class      sinks.Class
		retryAfter time.Duration
	}{
		{http.StatusRequestTimeout, sinks.Retryable, 0},
		{http.StatusTooManyRequests, sinks.Retryable, 7 * time.Second},
		{http.StatusInternalServerError, sinks.Retryable, 0},
		{http.StatusBadGateway, sinks.Retryable, 0},
		{http.StatusServiceUnavailable, sinks.Retryable, 7 * time.Second},
		{http.StatusBadRequest, sinks.Permanent, 0},
		{http.StatusUnauthorized, sinks.Permanent, 0},
		{http.StatusNotFound, sinks.Permanent, 0},
		{http.StatusUnprocessableEntity, sinks.Permanent, 0},
		{http.StatusFound, sinks.Permanent, 0},
	} {
		r.set(tc.status, 0)
		err := write(t, s, 3)
		var se *sinks.StatusError
		if !errors.As(err, &se) || se.Code != tc.status {
			t.Errorf("status %d: Write = %v, want a *sinks.StatusError with that code", tc.status, err)
			continue
		}
		if c, reason := sinks.Classify(err); c != tc.class {
			t.Errorf("status %d: %s (%s), want %s", tc.status, c, reason, tc.class)
		}
		if got := sinks.RetryAfter(err); got != tc.retryAfter {
			t.Errorf("status %d: RetryAfter %v, want %v", tc.status, got, tc.retryAfter)
		}
	}
}

func TestTimeoutIsRetryable(t *testing.T) {
	r := newReceiver(t)
	cfg := r.config()
	cfg.Timeout = 100 * time.Millisecond
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.set(0, 2*time.Second)
	err = write(t, s, 2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Write to a stalled receiver = %v, want a deadline error", err)
	}
	if c, _ := sinks.Classify(err); c != sinks.Retryable {
		t.Fatalf("timeout classified %s", c)
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	r := newReceiver(t)
	cfg := r.config()
	r.srv.Close()
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = write(t, s, 1)
	if c, reason := sinks.Classify(err); c != sinks.Retryable {
		t.Fatalf("%v classified %s (%s)", err, c, reason)
	}
}

func TestRequestShape(t *testing.T) {
	r := newReceiver(t)
	cfg := r.config()
	cfg.Headers = map[string]string{"Authorization": "Bearer x"}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := sinktest.Events("shape", 6)
	b := sinktest.NewBatch("sluice.dest.crm", 2, 40, events)
	if err := s.Write(t.Context(), b); err != nil {
		t.Fatal(err)
	}
	h := r.headers[0]
	if got := h.Get(IdempotencyHeader); got != b.Token() {
		t.Errorf("Idempotency-Key %q, want %q", got, b.Token())
	}
	if h.Get("Authorization") != "Bearer x" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	got := r.events
	if len(got) != len(events) {
		t.Fatalf("%d events received, want %d", len(got), len(events))
	}
	for i := range events {
		want, have := events[i].AppendRaw(nil), got[i].AppendRaw(nil)
		if string(want) != string(have) {
			t.Errorf("event %d:\n got %s\nwant %s", i, have, want)
		}
	}
}

func TestSignature(t *testing.T) {
	body := []byte(`{"batch":[]}`)
	at := time.Unix(1733300000, 0)
	sig := Sign(at, "delete/abc", body, "k")
	// printf '%s' '1733300000.delete/abc.{"batch":[]}' | openssl dgst -sha256 -hmac k
	if sig != "t=1733300000,v1=23e23da60ee8e7844652a703db5c91dac9e5101ba60a4ffbaa1ad03f8e44306e" {
		t.Fatalf("Sign = %s, want openssl's digest", sig)
	}
	if err := Verify(sig, "delete/abc", body, at.Add(time.Minute), "k"); err != nil {
		t.Fatalf("Verify of a fresh signature: %v", err)
	}
	refused := []struct {
		name   string
		header string
		key    string
		body   string
		at     time.Time
		want   error
	}{
		{"changed body", sig, "delete/abc", `{"batch":[ ]}`, at, ErrSignatureMismatch},
		{"other key", sig, "delete/abd", `{"batch":[]}`, at, ErrSignatureMismatch},
		{"replayed late", sig, "delete/abc", `{"batch":[]}`, at.Add(SignatureTolerance + time.Second), ErrSignatureExpired},
		{"from the future", sig, "delete/abc", `{"batch":[]}`, at.Add(-SignatureTolerance - time.Second), ErrSignatureExpired},
		{"old format", "sha256=671e375f32b6d307037df376330c518de9ab279e7f40622214503cbd83456b58", "delete/abc", `{"batch":[]}`, at, ErrSignatureMalformed},
		{"no digest", "t=1733300000", "delete/abc", `{"batch":[]}`, at, ErrSignatureMalformed},
		{"time changed", strings.Replace(sig, "t=1733300000", "t=1733300001", 1), "delete/abc", `{"batch":[]}`, at, ErrSignatureMismatch},
	}
	for _, tc := range refused {
		if err := Verify(tc.header, tc.key, []byte(tc.body), tc.at, "k"); !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Verify(sig, "delete/abc", body, at, "other"); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("another secret: Verify = %v", err)
	}
	// During a rotation both secrets sign; a receiver knowing either accepts.
	rotating := Sign(at, "k1", body, "new", "old")
	for _, secret := range []string{"new", "old"} {
		if err := Verify(rotating, "k1", body, at, secret); err != nil {
			t.Errorf("rotation: a receiver with %q refused: %v", secret, err)
		}
	}
}

// URLs reach logs and errors only redacted: no user info, no query values.
func TestRedact(t *testing.T) {
	got := Redact("http://user:pa55@crm.example.com/delete?token=s3cret&x=1")
	if strings.Contains(got, "pa55") || strings.Contains(got, "s3cret") || strings.Contains(got, "user:") {
		t.Fatalf("Redact kept a credential: %s", got)
	}
	if !strings.Contains(got, "crm.example.com/delete") {
		t.Fatalf("Redact lost the host and path: %s", got)
	}
	s, err := Open(Config{URL: "http://user:pa55@127.0.0.1:1/events?token=s3cret", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(t.Context())
	werr := s.Write(t.Context(), sinktest.NewBatch("t", 0, 0, sinktest.Events("redact", 1)))
	if werr == nil || strings.Contains(werr.Error(), "pa55") || strings.Contains(werr.Error(), "s3cret") {
		t.Fatalf("Write to an unreachable URL: error %v shows a credential (or no error)", werr)
	}
}

func TestNoDeleteURLIsNoDeleter(t *testing.T) {
	s, err := Open(Config{URL: "http://127.0.0.1:1/events"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(sinks.Deleter); ok {
		t.Fatal("a webhook without deleteUrl claims to delete")
	}
	r := newReceiver(t)
	d := r.Open(t).(sinks.Deleter)
	rec, err := d.Delete(t.Context(), sinks.DeleteRequest{Workspace: "acme", UserIDs: []string{"u1"}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.HTTPStatus != http.StatusOK || rec.Detail != `{"deleted":true}` || len(r.deletes) != 1 || r.deletes[0].AnonymousIDs == nil {
		t.Fatalf("receipt %+v, deletes %+v", rec, r.deletes)
	}
}

func TestFromSettings(t *testing.T) {
	t.Setenv("HOOK_SECRET", "from-env")
	c, err := FromSettings("crm", map[string]any{
		"url": "https://hooks.example/events", "deleteUrl": "https://hooks.example/delete",
		"secretEnv": "HOOK_SECRET", "timeout": "3s", "headers": map[string]any{"Authorization": "Bearer t"},
		"batchEvents": 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Secret != "from-env" || c.Timeout != 3*time.Second || c.Headers["Authorization"] != "Bearer t" || c.BatchEvents != 100 || c.InFlight != 4 {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []map[string]any{
		{},
		{"url": "ftp://x"},
		{"url": "http://x", "timeot": "1s"},
		{"url": "http://x", "timeout": true},
		{"url": "http://x", "headers": map[string]any{"a": 1}},
	} {
		if _, err := FromSettings("crm", bad); err == nil {
			t.Errorf("FromSettings(%v) accepted", bad)
		}
	}
}
