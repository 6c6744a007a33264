package regulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/processors/suppress"
)

// latestRecords reads a topic from its start to its end offsets at the call,
// independently of the code under test, and returns the last record per key
// (a nil value is a tombstone).
func latestRecords(t testing.TB, addr, topic string) map[string]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ends, err := listEnds(t, cl, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*kgo.Record{}
	if len(ends) == 0 {
		return out
	}
	starts := map[int32]kgo.Offset{}
	for p := range ends {
		starts[p] = kgo.NewOffset().AtStart()
	}
	rd, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}))
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for len(ends) > 0 {
		fs := rd.PollFetches(t.Context())
		if t.Context().Err() != nil {
			t.Fatal("reading", topic, "timed out")
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := ends[r.Partition]; ok && r.Offset < end {
				out[string(r.Key)] = r
				if r.Offset+1 >= end {
					delete(ends, r.Partition)
				}
			}
		})
	}
	return out
}

func listEnds(t testing.TB, cl *kgo.Client, topic string) (map[int32]int64, error) {
	s := &Service{adm: kadm.NewClient(cl)}
	return s.endOffsets(t.Context(), topic)
}

// post files a regulation through the handler.
func post(t testing.TB, h http.Handler, body, key string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/v1/regulations", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func idOf(t testing.TB, w *httptest.ResponseRecorder) string {
	t.Helper()
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var v struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil || v.ID == "" {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	return v.ID
}

func TestSuppressionIsInTheTopicWhenAcknowledged(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{})
	h := NewHandler(s)
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%d", i)
	}
	body, _ := json.Marshal(Body{SuppressOnly, UserID, ids})
	id := idOf(t, post(t, h, string(body), ""))

	// Right after the 200, with nothing waited for: every record is there.
	recs := latestRecords(t, b.Addr(), "sluice.suppressions")
	for _, u := range ids {
		key, _ := suppress.Key(testWorkspace, suppress.UserID, u)
		r, ok := recs[string(key)]
		if !ok || r.Value == nil {
			t.Fatalf("no suppression record for %s right after the acknowledgement", u)
		}
		v, err := suppress.DecodeRecord(r.Value)
		if err != nil || v.RegulationID != id || v.SubjectID != u {
			t.Fatalf("record %s = %s (%v)", key, r.Value, err)
		}
	}
	reg, ok, err := s.Get(t.Context(), id)
	if err != nil || !ok {
		t.Fatalf("Get: %v %v", ok, err)
	}
	if reg.OverallStatus != Finished || reg.step(StepSuppress).Status != Finished || reg.step(StepSuppress).Receipt.Records != 300 {
		t.Fatalf("regulation = %+v", reg)
	}
}

func TestSuppressionRefusedWhileTheBrokerRefusesWrites(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{ProduceTimeout: time.Second})
	h := NewHandler(s)
	var outage atomic.Bool
	c := b.Cluster()
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !outage.Load() {
			return nil, nil, false
		}
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotEnoughReplicas.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	outage.Store(true)
	body := `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u1"]}`
	if w := post(t, h, body, "k1"); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("during the outage: status %d (%s), want 503", w.Code, w.Body)
	}
	outage.Store(false)
	// The client retries with the same key, as the 503 tells it to.
	var id string
	for attempt := 1; id == ""; attempt++ {
		w := post(t, h, body, "k1")
		switch {
		case w.Code == http.StatusOK:
			id = idOf(t, w)
		case w.Code != http.StatusServiceUnavailable || attempt == 10:
			t.Fatalf("after the outage, attempt %d: %d %s", attempt, w.Code, w.Body)
		}
	}
	if r := latestRecords(t, b.Addr(), "sluice.suppressions")["acme/USER_ID/u1"]; r == nil || r.Value == nil {
		t.Fatal("no suppression after the acknowledged retry")
	}
}

func TestIdempotencyKeyReturnsTheSameID(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{})
	h := NewHandler(s)
	body := `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u1","u2"]}`
	first := idOf(t, post(t, h, body, "retry-me-1"))
	w := post(t, h, body, "retry-me-1")
	if again := idOf(t, w); again != first {
		t.Fatalf("retry got id %s, first %s", again, first)
	}
	if w.Header().Get("Idempotent-Replayed") != "true" {
		t.Error("a replay is not marked Idempotent-Replayed")
	}
	// Another API process (another Service on the same topics) agrees.
	other := NewHandler(openService(t, b, Config{}))
	if again := idOf(t, post(t, other, body, "retry-me-1")); again != first {
		t.Fatalf("another process got id %s, first %s", again, first)
	}
	// The same key with another body is a conflict, not a silent replay.
	w = post(t, h, `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u3"]}`, "retry-me-1")
	if w.Code != http.StatusConflict {
		t.Fatalf("status %d (%s), want 409", w.Code, w.Body)
	}
	// Without a key, each request is a new regulation.
	a := idOf(t, post(t, h, body, ""))
	c := idOf(t, post(t, h, body, ""))
	if a == c || a == first {
		t.Fatalf("ids without key: %s %s (first %s)", a, c, first)
	}
	if n := len(s.List("", 0)); n != 3 {
		t.Fatalf("%d regulations listed, want 3", n)
	}
}

func TestUnsuppressWritesTombstones(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{})
	h := NewHandler(s)
	idOf(t, post(t, h, `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u1","u2"]}`, ""))
	// An anonymousId suppressed on u1's behalf by a SUPPRESS_WITH_DELETE.
	if _, err := s.suppress(t.Context(), &Regulation{ID: "rg_earlier"}, AnonymousID, []string{"anon-of-u1"}, "u1"); err != nil {
		t.Fatal(err)
	}
	id := idOf(t, post(t, h, `{"regulationType":"UNSUPPRESS","subjectType":"USER_ID","subjectIds":["u1"]}`, ""))

	recs := latestRecords(t, b.Addr(), "sluice.suppressions")
	for key, want := range map[string]bool{"acme/USER_ID/u1": true, "acme/ANONYMOUS_ID/anon-of-u1": true, "acme/USER_ID/u2": false} {
		r, ok := recs[key]
		if !ok {
			t.Fatalf("no record for %s", key)
		}
		if tomb := r.Value == nil; tomb != want {
			t.Errorf("%s: tombstone %v, want %v", key, tomb, want)
		}
	}
	reg, _, _ := s.Get(t.Context(), id)
	if reg.OverallStatus != Finished || reg.step(StepUnsuppress).Receipt.Records != 2 {
		t.Fatalf("regulation = %+v", reg)
	}
}

func TestHandlerRefusals(t *testing.T) {
	b, _ := newBroker(t)
	h := NewHandler(openService(t, b, Config{}))
	good := `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u1"]}`
	do := func(method, path, body string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	huge := `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["` + strings.Repeat("x", MaxBodyBytes) + `"]}`
	cases := []struct {
		name         string
		method, path string
		body         string
		hdr          map[string]string
		status       int
		field        string
	}{
		{"bad field", "POST", "/v1/regulations", `{"regulationType":"NOPE","subjectType":"USER_ID","subjectIds":["u"]}`, nil, 400, "regulationType"},
		{"bad id", "POST", "/v1/regulations", `{"regulationType":"DELETE_ONLY","subjectType":"USER_ID","subjectIds":["u",""]}`, nil, 400, "subjectIds[1]"},
		{"too large", "POST", "/v1/regulations", huge, nil, 413, ""},
		{"media type", "POST", "/v1/regulations", good, map[string]string{"Content-Type": "text/csv"}, 415, ""},
		{"key with space", "POST", "/v1/regulations", good, map[string]string{"Idempotency-Key": "a b"}, 400, "Idempotency-Key"},
		{"key too long", "POST", "/v1/regulations", good, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}, 400, "Idempotency-Key"},
		{"unknown id", "GET", "/v1/regulations/rg_nope", "", nil, 404, "id"},
		{"bad status", "GET", "/v1/regulations?status=DONE", "", nil, 400, "status"},
		{"bad limit", "GET", "/v1/regulations?limit=0", "", nil, 400, "limit"},
		{"bad format", "GET", "/v1/users/u1/export?format=xml", "", nil, 400, "format"},
		{"bad subject type", "GET", "/v1/users/u1/export?subjectType=EMAIL", "", nil, 400, "subjectType"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(c.method, c.path, c.body, c.hdr)
			if w.Code != c.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, c.status)
			}
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error == "" || e.Field != c.field {
				t.Fatalf("body %s: field %q, want %q (%v)", w.Body, e.Field, c.field, err)
			}
		})
	}
}

func TestListFiltersByStatus(t *testing.T) {
	b, _ := newBroker(t)
	s := openService(t, b, Config{})
	h := NewHandler(s)
	idOf(t, post(t, h, `{"regulationType":"SUPPRESS_ONLY","subjectType":"USER_ID","subjectIds":["u1"]}`, ""))
	del := idOf(t, post(t, h, `{"regulationType":"DELETE_ONLY","subjectType":"USER_ID","subjectIds":["u2"]}`, ""))
	req := httptest.NewRequestWithContext(t.Context(), "GET", "/v1/regulations?status=INITIALIZED", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	var got struct{ Regulations []Summary }
	if err := json.NewDecoder(io.NopCloser(bytes.NewReader(w.Body.Bytes()))).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Regulations) != 1 || got.Regulations[0].ID != del || got.Regulations[0].Subjects != 1 {
		t.Fatalf("list = %s", w.Body)
	}
}
