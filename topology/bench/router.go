package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/router"
	"github.com/sluicehq/sluice/topology/topics"
)

// RouterConfig describes one router benchmark. The zero value works.
type RouterConfig struct {
	// Events is how many events to route; default 1,000,000.
	Events int
	// Partitions of events.raw and every destination topic; default 6.
	Partitions int
	// Encryption also routes the events sealed under their users' data keys
	// (crypto-shredding), on a fresh broker, and reports the throughput
	// ratio to the plaintext run.
	Encryption bool
	// NoCompression writes the input and has the router produce without
	// batch compression (see IngestConfig.NoCompression).
	NoCompression bool
	// Out receives the human-readable lines; default discards.
	Out io.Writer
}

// RouterResult is what Router measured. The JSON names are the bench's
// contract with scripts.
type RouterResult struct {
	Events                  int     `json:"events"`
	Partitions              int     `json:"partitions"`
	Seconds                 float64 `json:"seconds"`
	EventsPerSec            float64 `json:"events_per_sec"`
	PassthroughSeconds      float64 `json:"passthrough_seconds"`
	PassthroughEventsPerSec float64 `json:"passthrough_events_per_sec"`
	Ratio                   float64 `json:"ratio"`
	// With RouterConfig.Encryption: the sealed run, and its throughput over
	// the plaintext router's.
	EncryptedSeconds      float64 `json:"encrypted_seconds,omitempty"`
	EncryptedEventsPerSec float64 `json:"encrypted_events_per_sec,omitempty"`
	EncryptionRatio       float64 `json:"encryption_ratio,omitempty"`
	// CPUSeconds is the process's CPU time while the router ran (router
	// and embedded broker); EncryptionCPURatio the sealed run's over it:
	// the cost, whatever else the machine runs.
	CPUSeconds          float64 `json:"cpu_seconds"`
	EncryptedCPUSeconds float64 `json:"encrypted_cpu_seconds,omitempty"`
	EncryptionCPURatio  float64 `json:"encryption_cpu_ratio,omitempty"`
	// RawBytesPerRecord is what one events.raw record of the input takes
	// on the broker (batch compression included), DestBytesPerRecord one
	// record the router wrote to a destination topic; the Encrypted ones
	// the same in the sealed run.
	RawBytesPerRecord           float64 `json:"raw_bytes_per_record"`
	DestBytesPerRecord          float64 `json:"dest_bytes_per_record"`
	EncryptedRawBytesPerRecord  float64 `json:"encrypted_raw_bytes_per_record,omitempty"`
	EncryptedDestBytesPerRecord float64 `json:"encrypted_dest_bytes_per_record,omitempty"`

	outcomes map[string]float64 // the router's drop and route counts
}

// Router routes Events mixed events (10% from suppressed users, a tracking
// plan enforced, three destinations behind consent) through one router on
// the embedded broker, and in the same run a raw franz-go transactional
// consume→produce passthrough of the same records as the baseline. With
// Encryption it routes the same events sealed under their users' data keys
// too, on a fresh broker.
func Router(ctx context.Context, cfg RouterConfig) (RouterResult, error) {
	if cfg.Events == 0 {
		cfg.Events = 1_000_000
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 6
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	res := RouterResult{Events: cfg.Events, Partitions: cfg.Partitions}
	ws, err := config.Parse([]byte(routerWorkspace))
	if err != nil {
		return res, err
	}
	names := topics.Names{Prefix: ws.TopicPrefix}
	dests := []string{"warehouse", "crm", "stream"}
	specs := append(names.All(int32(cfg.Partitions), dests), topics.Spec{Name: "bench.passthrough", Partitions: int32(cfg.Partitions)})

	err = withBroker(ctx, specs, func(addr string) error {
		return runRouter(ctx, addr, cfg, ws, nil, &res, out)
	})
	if err != nil {
		return res, err
	}
	res.Ratio = res.EventsPerSec / res.PassthroughEventsPerSec
	fmt.Fprintf(out, "router:      %.2fs, %.0f events/s (start-up and table catch-up included)\n", res.Seconds, res.EventsPerSec)
	fmt.Fprintf(out, "ratio:       %.2f of the passthrough\n", res.Ratio)
	fmt.Fprintf(out, "bytes:       %.0f per events.raw record, %.0f per destination record on the broker\n", res.RawBytesPerRecord, res.DestBytesPerRecord)
	if cfg.Encryption {
		var enc RouterResult
		err = withBroker(ctx, specs, func(addr string) error {
			return runRouter(ctx, addr, cfg, ws, benchKeyring(), &enc, out)
		})
		if err != nil {
			return res, err
		}
		if err := sameWork(res.outcomes, enc.outcomes, cfg.Events); err != nil {
			return res, err
		}
		res.EncryptedSeconds, res.EncryptedEventsPerSec = enc.Seconds, enc.EventsPerSec
		res.EncryptionRatio = enc.EventsPerSec / res.EventsPerSec
		res.EncryptedCPUSeconds = enc.CPUSeconds
		res.EncryptionCPURatio = enc.CPUSeconds / res.CPUSeconds
		res.EncryptedRawBytesPerRecord, res.EncryptedDestBytesPerRecord = enc.RawBytesPerRecord, enc.DestBytesPerRecord
		fmt.Fprintf(out, "sealed:      %.2fs, %.0f events/s; %.3f of the plaintext router, %.3f of its CPU time\n",
			enc.Seconds, enc.EventsPerSec, res.EncryptionRatio, res.EncryptionCPURatio)
		fmt.Fprintf(out, "sealed bytes: %.0f per events.raw record, %.0f per destination record on the broker\n",
			enc.RawBytesPerRecord, enc.DestBytesPerRecord)
	}
	return res, nil
}

// runRouter prepares the input on the broker at addr and measures the
// router; without a keyring it measures the passthrough first, with one the
// input is sealed and the router opens and seals.
func runRouter(ctx context.Context, addr string, cfg RouterConfig, ws config.Config, kr *shred.Keyring, res *RouterResult, out io.Writer) error {
	names := topics.Names{Prefix: ws.TopicPrefix}
	written := newTopicBytes()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.ProducerBatchMaxBytes(1 << 20), kgo.WithHooks(written)}, compression(cfg.NoCompression, kr != nil)...)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	sealed := ""
	if kr != nil {
		sealed = ", sealed under the users' data keys"
	}
	fmt.Fprintf(out, "preparing %d events%s, %d suppressed users, a tracking plan\n", cfg.Events, sealed, benchUsers/10)
	if err := prepareRouterInput(ctx, cl, addr, names, cfg.Events, kr); err != nil {
		return err
	}
	raw := names.Of(topics.Raw)

	if kr == nil {
		start := time.Now()
		if err := passthrough(ctx, addr, raw, "bench.passthrough", cfg.Events); err != nil {
			return fmt.Errorf("passthrough: %w", err)
		}
		res.PassthroughSeconds = time.Since(start).Seconds()
		res.PassthroughEventsPerSec = float64(cfg.Events) / res.PassthroughSeconds
		fmt.Fprintf(out, "passthrough: %.2fs, %.0f events/s\n", res.PassthroughSeconds, res.PassthroughEventsPerSec)
	}

	reg := prometheus.NewRegistry()
	routed := newTopicBytes()
	r, err := router.New(router.Config{Seeds: []string{addr}, Workspace: ws, Keyring: kr, Registry: reg,
		ClientOpts: append(compression(cfg.NoCompression, false), kgo.WithHooks(routed))})
	if err != nil {
		return err
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	cpu := cpuTime()
	start := time.Now()
	go func() { done <- r.Run(rctx) }()
	err = waitCommitted(ctx, kadm.NewClient(cl), "sluice-router", raw, done)
	res.Seconds = time.Since(start).Seconds()
	res.CPUSeconds = (cpuTime() - cpu).Seconds()
	stop()
	if rerr := <-done; err == nil {
		err = rerr
	}
	if err != nil {
		return err
	}
	res.EventsPerSec = float64(cfg.Events) / res.Seconds
	res.RawBytesPerRecord = written.perRecord(topicIs(raw))
	res.DestBytesPerRecord = routed.perRecord(topicHasPrefix(names.Destination("")))
	res.outcomes, err = routerOutcomes(reg)
	return err
}

// sameWork checks that the sealed run did the plaintext run's work: no event
// dropped for its envelope, and as many routed within 0.1% (identity links
// between partitions depend on the order partitions are processed in).
func sameWork(plain, sealed map[string]float64, events int) error {
	for k, v := range sealed {
		if strings.Contains(k, "reason=key_") || strings.Contains(k, "reason=not_") || strings.Contains(k, "reason=unreadable") {
			return fmt.Errorf("bench: the sealed router dropped %.0f events (%s)", v, k)
		}
	}
	routed := func(m map[string]float64) float64 {
		n := 0.0
		for k, v := range m {
			if strings.HasPrefix(k, "sluice_router_events_routed_total") && !strings.HasSuffix(k, "destinations=0") {
				n += v
			}
		}
		return n
	}
	if d := routed(plain) - routed(sealed); d > float64(events)/1000 || -d > float64(events)/1000 {
		return fmt.Errorf("bench: the sealed router routed %.0f events, the plaintext one %.0f", routed(sealed), routed(plain))
	}
	return nil
}

// routerOutcomes sums the router's drop and route counters by label, so
// that the sealed run can be checked to do the plaintext run's work.
func routerOutcomes(reg *prometheus.Registry) (map[string]float64, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		name := mf.GetName()
		if name != "sluice_router_events_dropped_total" && name != "sluice_router_events_routed_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			k := name
			for _, l := range m.GetLabel() {
				k += "," + l.GetName() + "=" + l.GetValue()
			}
			if v := m.GetCounter().GetValue(); v > 0 {
				out[k] = v
			}
		}
	}
	return out, nil
}

// prepareRouterInput writes the events, the suppressions and the plan;
// with a keyring also a data key per user, each event sealed under its
// user's key, as the api writes them.
func prepareRouterInput(ctx context.Context, cl *kgo.Client, addr string, names topics.Names, n int, kr *shred.Keyring) error {
	raw := names.Of(topics.Raw)
	evs := routerEvents(n)
	seal, err := benchSealer(ctx, cl, names, kr)
	if err != nil {
		return err
	}
	var firstErr error
	for i := range evs {
		cl.Produce(ctx, &kgo.Record{Topic: raw, Key: evs[i].AppendKey(nil), Value: seal(&evs[i], evs[i].AppendRaw(nil))}, func(_ *kgo.Record, err error) {
			if err != nil && firstErr == nil {
				firstErr = err
			}
		})
	}
	for u := range benchUsers / 10 {
		key, _ := suppress.Key("bench", suppress.UserID, benchUser(u))
		val, _ := suppress.EncodeRecord(suppress.Record{RegulationID: "bench", SubjectType: suppress.UserID, SubjectID: benchUser(u), At: time.Now()})
		cl.Produce(ctx, &kgo.Record{Topic: names.Of(topics.Suppressions), Key: key, Value: val}, nil)
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	if firstErr != nil {
		return firstErr
	}
	p, err := plan.Check(benchPlan)
	if err != nil {
		return err
	}
	store, err := planstore.New(planstore.Config{Brokers: []string{addr}, TopicPrefix: names.Prefix})
	if err != nil {
		return err
	}
	defer store.Close()
	_, err = store.Publish(ctx, p, planstore.PublishOptions{Author: "bench"})
	return err
}

// passthrough copies n records from one topic to another with a
// transactional consume→produce loop: the router's Kafka work with no stages.
func passthrough(ctx context.Context, addr, from, to string, n int) error {
	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(addr), kgo.TransactionalID("bench-passthrough"), kgo.ConsumerGroup("bench-passthrough"),
		kgo.ConsumeTopics(from), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ProducerLinger(0),
	)
	if err != nil {
		return err
	}
	defer sess.Close()
	seen := 0
	for seen < n {
		fs := sess.PollRecords(ctx, 10_000)
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := sess.Begin(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			sess.Produce(ctx, &kgo.Record{Topic: to, Key: r.Key, Value: r.Value}, nil)
		})
		committed, err := sess.End(ctx, kgo.TryCommit)
		if err != nil {
			return err
		}
		if committed {
			seen += fs.NumRecords()
		}
	}
	return nil
}

// waitCommitted waits until group has committed the end of topic, or the
// router stops.
func waitCommitted(ctx context.Context, adm *kadm.Client, group, topic string, stopped <-chan error) error {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return err
	}
	for {
		select {
		case err := <-stopped:
			return errors.Join(errors.New("router stopped before finishing"), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		offs, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			continue
		}
		done := true
		ends.Each(func(e kadm.ListedOffset) {
			if o, ok := offs.Lookup(topic, e.Partition); !ok || o.At < e.Offset {
				done = false
			}
		})
		if done {
			return nil
		}
	}
}
