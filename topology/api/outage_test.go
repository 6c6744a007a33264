package api

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/topology/topics"
)

// TestBrokerRefusesWrites: while the broker answers every produce with
// NOT_ENOUGH_REPLICAS, requests get 503 and nothing is written; once it
// recovers the same request gets 200.
func TestBrokerRefusesWrites(t *testing.T) {
	e := newEnv(t)
	var outage atomic.Bool
	var refused atomic.Int64
	c := e.broker.Cluster()
	c.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !outage.Load() {
			return nil, nil, false
		}
		refused.Add(1)
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
	body := []byte(`{"batch":[{"type":"track","userId":"u1","event":"During"},{"type":"track","userId":"u2","event":"During"}]}`)
	r := e.post("/v1/batch", webKey, body)
	if r.status != http.StatusServiceUnavailable || r.body["code"] != codeBrokerUnavailable {
		t.Fatalf("during the outage: %d %s", r.status, r.raw)
	}
	if refused.Load() == 0 {
		t.Fatal("the broker never refused a produce: the 503 came from elsewhere")
	}
	outage.Store(false)
	// Like an SDK, retry on 503: records queued behind the failed ones on
	// their partition may fail too while the producer backs off.
	after := []byte(`{"batch":[{"type":"track","userId":"u1","event":"After"}]}`)
	unavailable := 1
	for attempt := 1; ; attempt++ {
		r := e.post("/v1/batch", webKey, after)
		if r.status == 200 {
			break
		}
		unavailable++
		if r.status != http.StatusServiceUnavailable || attempt == 5 {
			t.Fatalf("after the outage, attempt %d: %d %s", attempt, r.status, r.raw)
		}
	}
	for _, rec := range e.recordsBeforeSentinel(e.names.Of(topics.Raw)) {
		if v := decodeValue(t, rec); v["event"] != "After" {
			t.Errorf("a refused request's event was written: %s", rec.Value)
		}
	}
	if got := e.metric("sluice_api_requests_total", map[string]string{"route": "batch", "code": "503"}); got != float64(unavailable) {
		t.Errorf("requests{code=503} = %v", got)
	}
}

// TestBrokerGone: with the broker closed, a request gets 503, never 200, and
// /readyz says not ready.
func TestBrokerGone(t *testing.T) {
	e := newEnv(t)
	if r := e.post("/v1/track", webKey, []byte(`{"userId":"u","event":"Before"}`)); r.status != 200 {
		t.Fatalf("before: %d %s", r.status, r.raw)
	}
	e.broker.Close()
	r := e.post("/v1/track", webKey, []byte(`{"userId":"u","event":"Lost"}`))
	if r.status != http.StatusServiceUnavailable || r.body["code"] != codeBrokerUnavailable {
		t.Fatalf("broker closed: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/readyz", nil)
	if r := e.do(req); r.status != http.StatusServiceUnavailable {
		t.Errorf("readyz with the broker closed: %d %s", r.status, r.raw)
	}
}
