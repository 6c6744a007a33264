package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// The log cleaner of the embedded broker.
//
// kfake compacts a partition's batches except its last one (Kafka's active
// segment), and only a key's records in those batches count when it looks
// for the latest one. So a tombstone that is its partition's last record
// deletes nothing: the values it replaces stay, readable and on disk, until
// the next record arrives, which on a quiet table may be never. Kafka has the
// same rule (the active segment is not cleaned, and rolls only when a record
// arrives). Clean therefore first ends every compacted partition that got
// records since its last run with a transaction marker: a control batch of
// an empty committed transaction, which consumers never see (they skip
// control records), which holds no key or value, and which the next
// compaction drops again. Then the tombstone's batch is cleanable and the
// values it replaces go.
//
// kfake also applies retention.ms (by default 7 days) to compacted topics,
// which Kafka never does: a dev broker would lose week-old suppressions.
// Clean sets retention.ms -1 on every compact-only topic that has no
// retention.ms of its own before it compacts.

// DefaultCleanEvery is how often a broker cleans when Config.CleanEvery is 0.
const DefaultCleanEvery = time.Minute

// rollTxnID is the transactional id of the broker's own empty transactions.
const rollTxnID = "sluice.broker.log-cleaner"

// cleaner is the state of a broker's log cleaner.
type cleaner struct {
	opts   []kgo.Opt // how to connect: seeds, SASL, TLS
	cl     *kgo.Client
	adm    *kadm.Client
	rolled map[string]map[int32]int64 // end offset after the last marker, per partition
	pid    int64
	epoch  int16
}

// Clean runs the log cleaner now: it keeps compacted topics from expiring
// (retention.ms -1 where unset), ends every compacted partition written to
// since the last run with a transaction marker, then compacts every
// compacted topic and applies retention.ms to the others. A tombstoned value
// is gone after it, from memory and from DataDir, also when the tombstone
// was its partition's last record; the tombstone itself stays until it is
// delete.retention.ms old. Clean runs on its own every CleanEvery.
func (b *Broker) Clean(ctx context.Context) error {
	b.cleanMu.Lock()
	defer b.cleanMu.Unlock()
	c, err := b.cleanerClient()
	if err != nil {
		return err
	}
	compacted, err := c.keepCompacted(ctx)
	if err != nil {
		return err
	}
	if err := c.roll(ctx, compacted); err != nil {
		return err
	}
	b.cluster.Compact()
	return nil
}

// endPartitions runs before Start returns, before any client reads. It
// starts the cleaner's producer: a new epoch of rollTxnID, which aborts a
// roll a killed process left open on this data dir. Then it ends with a
// commit marker every partition whose last record is transactional data
// with no marker after it. When kfake loads a data dir it aborts the
// transactions a killed process left open, but writes no abort marker, so a
// reader that must see a partition's last offset (a table catching up; the
// regulator checking that a group passed an offset) would see nothing past
// the aborted records until the partition's next record: on a quiet table,
// the next clean a minute later; on a quiet stream, the next event. The
// marker is that record.
func (b *Broker) endPartitions(ctx context.Context) error {
	b.cleanMu.Lock()
	defer b.cleanMu.Unlock()
	c, err := b.cleanerClient()
	if err != nil {
		return err
	}
	// The client caches what it learnt here (no topics yet, on a new
	// broker) for a while: the next Clean starts with a fresh one.
	defer func() { c.close(); b.cleaner = nil }()
	ctx, cancel := context.WithTimeout(ctx, rollTxnTimeout)
	defer cancel()
	if err := c.initProducer(ctx); err != nil {
		return err
	}
	open, err := c.openTails(ctx)
	if err != nil || len(open) == 0 {
		return err
	}
	return c.commitEmpty(ctx, open)
}

// openTails lists the partitions whose last record is transactional data:
// a transaction that has not ended, or that kfake aborted at load without
// a marker.
func (c *cleaner) openTails(ctx context.Context) (map[string][]int32, error) {
	topics, err := c.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("broker: cleaner: listing topics: %w", err)
	}
	if len(topics) == 0 {
		return nil, nil
	}
	ends, err := c.adm.ListEndOffsets(ctx, topics.Names()...)
	if err != nil {
		return nil, fmt.Errorf("broker: cleaner: listing end offsets: %w", err)
	}
	last := map[string]map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 {
			if last[o.Topic] == nil {
				last[o.Topic] = map[int32]kgo.Offset{}
			}
			last[o.Topic][o.Partition] = kgo.NewOffset().At(o.Offset - 1)
		}
	})
	if len(last) == 0 {
		return nil, nil
	}
	cl, err := kgo.NewClient(append(c.opts, kgo.ConsumePartitions(last), kgo.KeepControlRecords(),
		kgo.FetchIsolationLevel(kgo.ReadUncommitted()))...)
	if err != nil {
		return nil, fmt.Errorf("broker: cleaner: %w", err)
	}
	defer cl.Close()
	left := 0
	for _, ps := range last {
		left += len(ps)
	}
	open := map[string][]int32{}
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("broker: cleaner: reading the partitions' last records: %w", err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			want, ok := last[r.Topic][r.Partition]
			if !ok || r.Offset != want.EpochOffset().Offset {
				return
			}
			delete(last[r.Topic], r.Partition)
			left--
			if r.Attrs.IsTransactional() && !r.Attrs.IsControl() {
				open[r.Topic] = append(open[r.Topic], r.Partition)
			}
		})
	}
	return open, nil
}

// cleanLoop cleans every interval until ctx ends.
func (b *Broker) cleanLoop(ctx context.Context, every time.Duration) {
	defer close(b.cleanDone)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, every)
		if err := b.Clean(cctx); err != nil && ctx.Err() == nil {
			b.log.Warn("broker: cleaning the logs", "err", err)
		}
		cancel()
	}
}

// cleanerClient returns the cleaner, connecting on first use as one of the
// broker's users, over its TLS (the listener is this process's own).
func (b *Broker) cleanerClient() (*cleaner, error) {
	if b.cleaner != nil {
		return b.cleaner, nil
	}
	opts := []kgo.Opt{kgo.SeedBrokers(b.addrs...)}
	if len(b.cfg.Users) > 0 {
		u := b.cfg.Users[0]
		switch u.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: u.Name, Pass: u.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: u.Name, Pass: u.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: u.Name, Pass: u.Password}.AsSha512Mechanism()))
		}
	}
	if b.cfg.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{
			InsecureSkipVerify: true, //nolint:gosec // our own loopback listener
			Certificates:       b.cfg.TLS.Certificates,
		}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: cleaner client: %w", err)
	}
	b.cleaner = &cleaner{opts: opts, cl: cl, adm: kadm.NewClient(cl), rolled: map[string]map[int32]int64{}, pid: -1}
	return b.cleaner, nil
}

func (c *cleaner) close() {
	if c != nil {
		c.cl.Close()
	}
}

// keepCompacted lists the compacted topics and sets retention.ms -1 on
// those with cleanup.policy compact alone and no retention.ms of their own.
func (c *cleaner) keepCompacted(ctx context.Context) ([]string, error) {
	topics, err := c.adm.ListTopics(ctx)
	if err != nil {
		return nil, fmt.Errorf("broker: cleaner: listing topics: %w", err)
	}
	if len(topics) == 0 {
		return nil, nil
	}
	configs, err := c.adm.DescribeTopicConfigs(ctx, topics.Names()...)
	if err != nil {
		return nil, fmt.Errorf("broker: cleaner: reading topic configs: %w", err)
	}
	var compacted, keep []string
	for _, rc := range configs {
		if rc.Err != nil {
			continue // deleted meanwhile
		}
		policy, explicitRetention := "", false
		for _, cfg := range rc.Configs {
			switch cfg.Key {
			case "cleanup.policy":
				policy = cfg.MaybeValue()
			case "retention.ms":
				explicitRetention = cfg.Source == kmsg.ConfigSourceDynamicTopicConfig
			}
		}
		if !strings.Contains(policy, "compact") {
			continue
		}
		compacted = append(compacted, rc.Name)
		if policy == "compact" && !explicitRetention {
			keep = append(keep, rc.Name)
		}
	}
	if len(keep) > 0 {
		never := "-1"
		resp, err := c.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &never}}, keep...)
		if err == nil {
			for _, r := range resp {
				err = errors.Join(err, r.Err)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("broker: cleaner: keeping compacted topics from expiring: %w", err)
		}
	}
	return compacted, nil
}

// roll ends with a transaction marker every partition of the topics whose
// end offset moved since its last marker.
func (c *cleaner) roll(ctx context.Context, topics []string) error {
	if len(topics) == 0 {
		return nil
	}
	ends, err := c.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("broker: cleaner: listing end offsets: %w", err)
	}
	todo := map[string][]int32{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err == nil && o.Offset > 0 && o.Offset != c.rolled[o.Topic][o.Partition] {
			todo[o.Topic] = append(todo[o.Topic], o.Partition)
		}
	})
	if len(todo) == 0 {
		return nil
	}
	if err := c.commitEmpty(ctx, todo); err != nil {
		return err
	}
	after, err := c.adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return fmt.Errorf("broker: cleaner: listing end offsets: %w", err)
	}
	after.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			if c.rolled[o.Topic] == nil {
				c.rolled[o.Topic] = map[int32]int64{}
			}
			c.rolled[o.Topic][o.Partition] = o.Offset
		}
	})
	return nil
}

// rollTxnTimeout bounds how long a roll's transaction may stay open: a roll
// takes milliseconds, and a transaction left open (the process died between
// its steps) holds back every read-committed reader of the partitions it
// added until the broker aborts it.
const rollTxnTimeout = 10 * time.Second

// initProducer starts the cleaner's transactional producer: a new epoch of
// rollTxnID, which aborts any transaction of the id still open, such as one
// a previous process on the same data dir left when it was killed mid-roll.
func (c *cleaner) initProducer(ctx context.Context) error {
	txnID := rollTxnID
	init := kmsg.NewPtrInitProducerIDRequest()
	init.TransactionalID = &txnID
	init.TransactionTimeoutMillis = int32(rollTxnTimeout.Milliseconds())
	resp, err := init.RequestWith(ctx, c.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("broker: cleaner: starting its producer: %w", err)
	}
	c.pid, c.epoch = resp.ProducerID, resp.ProducerEpoch
	return nil
}

// commitEmpty commits a transaction that wrote nothing to the partitions:
// the broker writes its commit marker to each.
func (c *cleaner) commitEmpty(ctx context.Context, parts map[string][]int32) error {
	txnID := rollTxnID
	if c.pid < 0 {
		if err := c.initProducer(ctx); err != nil {
			return err
		}
	}
	add := kmsg.NewPtrAddPartitionsToTxnRequest()
	add.TransactionalID, add.ProducerID, add.ProducerEpoch = txnID, c.pid, c.epoch
	for topic, ps := range parts {
		t := kmsg.NewAddPartitionsToTxnRequestTopic()
		t.Topic, t.Partitions = topic, ps
		add.Topics = append(add.Topics, t)
	}
	addResp, err := add.RequestWith(ctx, c.cl)
	if err == nil {
		for _, t := range addResp.Topics {
			for _, p := range t.Partitions {
				err = errors.Join(err, kerr.ErrorForCode(p.ErrorCode))
			}
		}
	}
	if err != nil {
		c.pid = -1 // start over with a fresh epoch next time
		return fmt.Errorf("broker: cleaner: adding partitions to its transaction: %w", err)
	}
	end := kmsg.NewPtrEndTxnRequest()
	end.TransactionalID, end.ProducerID, end.ProducerEpoch, end.Commit = txnID, c.pid, c.epoch, true
	endResp, err := end.RequestWith(ctx, c.cl)
	if err == nil {
		err = kerr.ErrorForCode(endResp.ErrorCode)
		if endResp.ProducerEpoch > 0 { // v5 (KIP-890) bumps the epoch at every end
			c.epoch = endResp.ProducerEpoch
		}
	}
	if err != nil {
		c.pid = -1
		return fmt.Errorf("broker: cleaner: committing its empty transaction: %w", err)
	}
	return nil
}
