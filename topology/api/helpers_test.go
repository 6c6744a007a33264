package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

const (
	testWorkspace = "acme"
	webKey        = "wk_web_123"
	appKey        = "wk_app_456"
	slowKey       = "wk_slow_789"
	adminToken    = "admintoken-s3cret"
)

// env is one API server on an embedded broker with the topics created.
type env struct {
	t        *testing.T
	broker   *broker.Broker
	producer *kgo.Client
	server   *Server
	http     *httptest.Server
	names    topics.Names
	registry *prometheus.Registry
}

type envOption func(*Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	b := broker.ForTest(t)
	cfg, err := config.Parse([]byte(`
workspace: acme
sources:
  - name: web
    writeKey: wk_web_123
  - name: app
    writeKey: wk_app_456
  - name: slow
    writeKey: wk_slow_789
    rateLimit: 1
`))
	if err != nil {
		t.Fatal(err)
	}
	names := topics.Names{Prefix: cfg.TopicPrefix}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	admin, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := topics.Ensure(ctx, kadm.NewClient(admin), names.All(cfg.Partitions, nil)); err != nil {
		t.Fatal(err)
	}
	producer, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, ProducerOpts(2*time.Second)...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(producer.Close)
	reg := prometheus.NewRegistry()
	c := Config{
		Workspace:      cfg,
		Producer:       producer,
		Registry:       reg,
		ProduceTimeout: 5 * time.Second,
	}
	for _, o := range opts {
		o(&c)
	}
	srv, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &env{t: t, broker: b, producer: producer, server: srv, http: hs, names: names, registry: reg}
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends body to path with the write key as Basic user ("" for none).
func (e *env) post(path, writeKey string, body []byte, headers ...string) reply {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if writeKey != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(writeKey+":")))
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) reply {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// records reads topic from the start until it has n records, failing the
// test if they do not come (the deadline guards against a hang; no test
// asserts how long anything takes).
func (e *env) records(topic string, n int) []*kgo.Record {
	e.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker.Addr()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("%s: got %d records, want %d", topic, len(out), n)
		}
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// sentinel produces a marker record to topic and returns every record
// before it: a way to see "nothing else was written" without waiting.
func (e *env) recordsBeforeSentinel(topic string) []*kgo.Record {
	e.t.Helper()
	marker := []byte("sentinel-" + e.t.Name())
	// One partition's order is all that is known; write the marker to
	// every partition and read until all markers are seen.
	const parts = 3
	pr, err := kgo.NewClient(kgo.SeedBrokers(e.broker.Addr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		e.t.Fatal(err)
	}
	for p := int32(0); p < parts; p++ {
		if err := pr.ProduceSync(e.t.Context(), &kgo.Record{Topic: topic, Partition: p, Value: marker}).FirstErr(); err != nil {
			e.t.Fatal(err)
		}
	}
	pr.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.broker.Addr()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(e.t.Context(), 30*time.Second)
	defer cancel()
	var out []*kgo.Record
	seen := map[int32]bool{}
	for len(seen) < parts {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			e.t.Fatalf("%s: sentinels not read back", topic)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if bytes.Equal(r.Value, marker) {
				seen[r.Partition] = true
			} else {
				out = append(out, r)
			}
		})
	}
	return out
}

// metric returns the value of a counter or gauge with the given labels, 0
// when absent.
func (e *env) metric(name string, labels map[string]string) float64 {
	e.t.Helper()
	mfs, err := e.registry.Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return 0
}

func decodeValue(t *testing.T, r *kgo.Record) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Value, &m); err != nil {
		t.Fatalf("record value %s: %v", r.Value, err)
	}
	return m
}
