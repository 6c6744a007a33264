// Package bench measures sluice's stages in process, against the embedded
// broker, each next to a baseline that shows what the stage costs.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/api"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// IngestConfig describes one ingest benchmark. The zero value works.
type IngestConfig struct {
	// Events is how many events to send; default 500,000.
	Events int
	// Clients is how many HTTP clients (keep-alive connections) send at
	// once; default 32, enough to keep both cores of a small machine busy.
	Clients int
	// BatchSize is the events per request; default 100.
	BatchSize int
	// Encryption also measures the API sealing every value under its
	// subject's data key (crypto-shredding), on a fresh broker, and reports
	// the throughput ratio to the plaintext run.
	Encryption bool
	// NoCompression produces without batch compression in every run:
	// ciphertext does not compress (sealing compresses each value itself),
	// so this isolates sealing's own cost from the bytes batch compression
	// no longer saves.
	NoCompression bool
	// Out receives the human-readable lines; default discards.
	Out io.Writer
}

// IngestResult is what Ingest measured. The JSON names are the bench's
// contract with scripts.
type IngestResult struct {
	Events               int     `json:"events"`
	Clients              int     `json:"clients"`
	BatchSize            int     `json:"batch_size"`
	Requests             int     `json:"requests"`
	BodyBytes            int64   `json:"body_bytes"`
	Seconds              float64 `json:"seconds"`
	EventsPerSec         float64 `json:"events_per_sec"`
	P50Ms                float64 `json:"p50_ms"`
	P99Ms                float64 `json:"p99_ms"`
	MaxMs                float64 `json:"max_ms"`
	BaselineSeconds      float64 `json:"baseline_seconds"`
	BaselineEventsPerSec float64 `json:"baseline_events_per_sec"`
	Ratio                float64 `json:"ratio"`
	// With IngestConfig.Encryption: the sealed run, and its throughput
	// over the plaintext run's.
	EncryptedEventsPerSec float64 `json:"encrypted_events_per_sec,omitempty"`
	EncryptedP99Ms        float64 `json:"encrypted_p99_ms,omitempty"`
	EncryptionRatio       float64 `json:"encryption_ratio,omitempty"`
	// CPUSeconds is the process's CPU time during the HTTP run (server,
	// clients and embedded broker); EncryptionCPURatio the sealed run's
	// over it: the cost, whatever else the machine runs.
	CPUSeconds          float64 `json:"cpu_seconds"`
	EncryptedCPUSeconds float64 `json:"encrypted_cpu_seconds,omitempty"`
	EncryptionCPURatio  float64 `json:"encryption_cpu_ratio,omitempty"`
	// RawBytesPerRecord is what one events.raw record the api wrote takes
	// on the broker (batch compression included); Encrypted the same
	// sealed.
	RawBytesPerRecord          float64 `json:"raw_bytes_per_record"`
	EncryptedRawBytesPerRecord float64 `json:"encrypted_raw_bytes_per_record,omitempty"`
}

const (
	benchWriteKey = "wk_bench"
	// bodyPool is how many distinct batch bodies the clients cycle through:
	// enough variety of users and ids, little memory.
	bodyPool = 64
)

// Ingest starts an embedded broker and the api role on a loopback port,
// sends Events events in batches of BatchSize over HTTP from Clients
// concurrent clients, then produces the same events.raw records straight
// with franz-go as the baseline, and reports both.
func Ingest(ctx context.Context, cfg IngestConfig) (IngestResult, error) {
	if cfg.Events <= 0 {
		cfg.Events = 500_000
	}
	if cfg.Clients <= 0 {
		cfg.Clients = 32
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.BatchSize > schemas.DefaultMaxBatchEvents {
		return IngestResult{}, fmt.Errorf("bench: BatchSize %d: at most %d", cfg.BatchSize, schemas.DefaultMaxBatchEvents)
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	res := IngestResult{Events: cfg.Events, Clients: cfg.Clients, BatchSize: cfg.BatchSize}

	ws, err := config.Parse([]byte("workspace: bench\nsources:\n  - name: bench\n    writeKey: " + benchWriteKey + "\n"))
	if err != nil {
		return res, err
	}
	names := topics.Names{Prefix: ws.TopicPrefix}
	bodies := makeBodies(cfg.BatchSize)
	fmt.Fprintf(out, "ingest: %d events, %d per request, %d clients, embedded broker\n",
		cfg.Events, cfg.BatchSize, cfg.Clients)

	// Each run gets a fresh broker and a collected heap, so that neither
	// pays for the records the other left in the in-memory broker.
	err = withBroker(ctx, names.All(ws.Partitions, nil), func(addr string) error {
		return runHTTP(ctx, addr, ws, bodies, cfg, &res, false)
	})
	if err != nil {
		return res, err
	}
	fmt.Fprintf(out, "http:     %d requests in %.2fs: %.0f events/s, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		res.Requests, res.Seconds, res.EventsPerSec, res.P50Ms, res.P99Ms, res.MaxMs)
	err = withBroker(ctx, names.All(ws.Partitions, nil), func(addr string) error {
		return runBaseline(ctx, addr, names.Of(topics.Raw), ws.Workspace, bodies, cfg, &res)
	})
	if err != nil {
		return res, err
	}
	res.Ratio = res.EventsPerSec / res.BaselineEventsPerSec
	fmt.Fprintf(out, "baseline: franz-go straight to the broker in %.2fs: %.0f events/s\n", res.BaselineSeconds, res.BaselineEventsPerSec)
	fmt.Fprintf(out, "ratio:    %.2f of the baseline through HTTP, decoding, validation and acks\n", res.Ratio)
	fmt.Fprintf(out, "bytes:    %.0f per events.raw record on the broker\n", res.RawBytesPerRecord)
	if cfg.Encryption {
		var enc IngestResult
		err = withBroker(ctx, names.All(ws.Partitions, nil), func(addr string) error {
			return runHTTP(ctx, addr, ws, bodies, cfg, &enc, true)
		})
		if err != nil {
			return res, err
		}
		res.EncryptedEventsPerSec, res.EncryptedP99Ms = enc.EventsPerSec, enc.P99Ms
		res.EncryptionRatio = enc.EventsPerSec / res.EventsPerSec
		res.EncryptedCPUSeconds = enc.CPUSeconds
		res.EncryptionCPURatio = enc.CPUSeconds / res.CPUSeconds
		res.EncryptedRawBytesPerRecord = enc.RawBytesPerRecord
		fmt.Fprintf(out, "sealed:   %d requests in %.2fs: %.0f events/s, latency p50 %.1f ms, p99 %.1f ms; %.3f of the plaintext run, %.3f of its CPU time\n",
			enc.Requests, enc.Seconds, enc.EventsPerSec, enc.P50Ms, enc.P99Ms, res.EncryptionRatio, res.EncryptionCPURatio)
		fmt.Fprintf(out, "sealed bytes: %.0f per events.raw record on the broker\n", enc.RawBytesPerRecord)
	}
	return res, nil
}

// withBroker runs fn against a fresh embedded broker holding specs.
func withBroker(ctx context.Context, specs []topics.Spec, fn func(addr string) error) error {
	runtime.GC()
	b, err := broker.Start(broker.Config{})
	if err != nil {
		return err
	}
	defer b.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		return err
	}
	err = topics.Ensure(ctx, kadm.NewClient(cl), specs)
	cl.Close()
	if err != nil {
		return err
	}
	return fn(b.Addr())
}

// makeBodies builds the batch bodies the clients cycle through.
func makeBodies(batchSize int) [][]byte {
	bodies := make([][]byte, bodyPool)
	now := time.Now().UTC()
	for i := range bodies {
		bodies[i] = makeBody(i, batchSize, batchSize, now)
	}
	return bodies
}

// makeBody builds one batch of n events in analytics-node's shape: track
// calls of many users with properties and context, about 600 bytes each.
func makeBody(i, n, batchSize int, now time.Time) []byte {
	var buf bytes.Buffer
	buf.WriteString(`{"batch":[`)
	for j := 0; j < n; j++ {
		if j > 0 {
			buf.WriteByte(',')
		}
		k := i*batchSize + j
		fmt.Fprintf(&buf, `{"type":"track","event":"Order Completed","userId":"user-%d","anonymousId":"anon-%d",`+
			`"messageId":"bench-%d-%d","timestamp":%q,`+
			`"properties":{"orderId":"o-%d","total":%d.95,"currency":"EUR","products":[{"sku":"sku-%d","qty":1,"price":19.99},{"sku":"sku-9","qty":2,"price":5}]},`+
			`"context":{"library":{"name":"@segment/analytics-node","version":"3.1.0"},"ip":"203.0.113.7","locale":"en-US","userAgent":"Mozilla/5.0 (X11; Linux x86_64)"},`+
			`"integrations":{},"_metadata":{"nodeVersion":"v20.20.2","jsRuntime":"node"}}`,
			k%1000, k%1000, i, j, now.Add(-time.Duration(j)*time.Millisecond).Format(time.RFC3339Nano),
			k, k%500, k%50)
	}
	fmt.Fprintf(&buf, `],"writeKey":%q,"sentAt":%q}`, benchWriteKey, now.Format(time.RFC3339Nano))
	return buf.Bytes()
}

// runHTTP serves the api role on loopback and measures the clients; sealed
// has it seal every value, creating the users' data keys as it meets them.
func runHTTP(ctx context.Context, addr string, ws config.Config, bodies [][]byte, cfg IngestConfig, res *IngestResult, sealed bool) error {
	written := newTopicBytes()
	producer, err := kgo.NewClient(append(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.WithHooks(written)}, api.ProducerOpts(0)...), compression(cfg.NoCompression, sealed)...)...)
	if err != nil {
		return err
	}
	defer producer.Close()
	var keys *shred.Creator
	if sealed {
		if keys, err = benchKeys(producer, topics.Names{Prefix: ws.TopicPrefix}.Of(topics.Keys)); err != nil {
			return err
		}
	}
	srv, err := api.New(api.Config{Workspace: ws, Producer: producer, Registry: prometheus.NewRegistry(), Keys: keys})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		<-served
	}()

	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(benchWriteKey+":"))
	request := func(body []byte) []byte {
		head := "POST /v1/batch HTTP/1.1\r\nHost: " + ln.Addr().String() +
			"\r\nContent-Type: application/json\r\nAuthorization: " + auth +
			"\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
		return append([]byte(head), body...)
	}
	reqs := make([][]byte, len(bodies))
	for i, b := range bodies {
		reqs[i] = request(b)
	}
	clients := make([]*loadClient, cfg.Clients)
	for i := range clients {
		clients[i] = &loadClient{addr: ln.Addr().String()}
		defer clients[i].close()
		// Warm up: connections, topic metadata, the producer id.
		if err := clients[i].post(reqs[i%len(reqs)]); err != nil {
			return err
		}
	}

	requests := (cfg.Events + cfg.BatchSize - 1) / cfg.BatchSize
	last := cfg.Events - (requests-1)*cfg.BatchSize // events in the last request
	lastReq := request(makeBody(0, last, cfg.BatchSize, time.Now().UTC()))
	var next atomic.Int64
	latencies := make([]time.Duration, requests)
	var bodyBytes atomic.Int64
	errs := make(chan error, cfg.Clients)
	var wg sync.WaitGroup
	cpu := cpuTime()
	began := time.Now()
	for _, client := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= requests {
					return
				}
				req := reqs[i%len(reqs)]
				if i == requests-1 {
					req = lastReq
				}
				t0 := time.Now()
				if err := client.post(req); err != nil {
					errs <- err
					return
				}
				latencies[i] = time.Since(t0)
				bodyBytes.Add(int64(len(req)))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	res.CPUSeconds = (cpuTime() - cpu).Seconds()
	select {
	case err := <-errs:
		return err
	default:
	}
	slices.Sort(latencies)
	ms := func(q float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(q*float64(len(latencies))))].Microseconds()) / 1000
	}
	res.Requests = requests
	res.BodyBytes = bodyBytes.Load()
	res.Seconds = elapsed.Seconds()
	res.EventsPerSec = float64(cfg.Events) / elapsed.Seconds()
	res.P50Ms, res.P99Ms = ms(0.50), ms(0.99)
	res.MaxMs = float64(latencies[len(latencies)-1].Microseconds()) / 1000
	res.RawBytesPerRecord = written.perRecord(topicIs(topics.Names{Prefix: ws.TopicPrefix}.Of(topics.Raw)))
	return nil
}

// loadClient is a minimal keep-alive HTTP/1.1 client in the spirit of wrk:
// requests are built once, answers parsed just enough to read the status
// and skip the body. The load generator shares the CPU with the server it
// measures, so it must cost as little of it as a remote client would.
type loadClient struct {
	addr string
	conn net.Conn
	rd   *bufio.Reader
	buf  []byte
}

// post writes one prebuilt request and reads its answer; a status other
// than 200 is an error.
func (c *loadClient) post(req []byte) error {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.addr)
		if err != nil {
			return err
		}
		c.conn, c.rd = conn, bufio.NewReaderSize(conn, 4096)
	}
	if _, err := c.conn.Write(req); err != nil {
		c.close()
		return err
	}
	line, err := c.rd.ReadSlice('\n')
	if err != nil || len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		c.close()
		return fmt.Errorf("bench: bad status line %q: %v", line, err)
	}
	status, _ := strconv.Atoi(string(line[9:12]))
	length, keep := -1, true
	for {
		line, err = c.rd.ReadSlice('\n')
		if err != nil {
			c.close()
			return err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(value))
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		}
	}
	if length < 0 {
		c.close()
		return errors.New("bench: answer without Content-Length")
	}
	if cap(c.buf) < length {
		c.buf = make([]byte, length)
	}
	body := c.buf[:length]
	if _, err := io.ReadFull(c.rd, body); err != nil {
		c.close()
		return err
	}
	if !keep {
		c.close()
	}
	if status != http.StatusOK {
		return fmt.Errorf("bench: POST /v1/batch: %d %s", status, body)
	}
	return nil
}

func (c *loadClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// runBaseline produces the records the API wrote for the same events,
// keyed the same, straight with franz-go and the API's producer options.
func runBaseline(ctx context.Context, addr, topic, workspace string, bodies [][]byte, cfg IngestConfig, res *IngestResult) error {
	type kv struct{ key, value []byte }
	var records []kv
	var d schemas.Decoder
	var p schemas.Payload
	received := time.Now().UTC()
	for _, body := range bodies {
		if err := d.Decode(body, schemas.Call{ReceivedAt: received}, &p); err != nil {
			return err
		}
		for i := range p.Events {
			e := &p.Events[i]
			e.Workspace, e.Source = workspace, "bench"
			records = append(records, kv{e.AppendKey(nil), e.AppendRaw(nil)})
		}
	}
	producer, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic)},
		append(api.ProducerOpts(0), compression(cfg.NoCompression, false)...)...)...)
	if err != nil {
		return err
	}
	defer producer.Close()
	// Warm up the same way: metadata and the producer id.
	if err := producer.ProduceSync(ctx, &kgo.Record{Key: records[0].key, Value: records[0].value}).FirstErr(); err != nil {
		return err
	}
	var failed atomic.Pointer[error]
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			failed.CompareAndSwap(nil, &err)
		}
	}
	began := time.Now()
	for i := 0; i < cfg.Events; i++ {
		r := records[i%len(records)]
		producer.Produce(ctx, &kgo.Record{Key: r.key, Value: r.value, Timestamp: received}, promise)
	}
	if err := producer.Flush(ctx); err != nil {
		return err
	}
	elapsed := time.Since(began)
	if errp := failed.Load(); errp != nil {
		return errors.Join(errors.New("bench: baseline produce"), *errp)
	}
	res.BaselineSeconds = elapsed.Seconds()
	res.BaselineEventsPerSec = float64(cfg.Events) / elapsed.Seconds()
	return nil
}
