package delivery

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// cut is a batch announced in a commit's metadata before it is written: the
// batch starting at the committed offset ends at last, and has been failing
// since since (zero: not yet failed). A re-delivery after a crash or a
// rebalance cuts the same batch (same Idempotency-Key) and keeps its
// retry horizon.
type cut struct {
	last  int64 // -1: none
	since time.Time
}

var noCut = cut{last: -1}

// applies reports whether the cut is for the batch starting at first, the
// first held record of a partition committed at committed.
func (c cut) applies(committed, first int64) bool {
	return c.last >= 0 && first == committed && c.last >= first
}

// commitMeta is what a commit says besides its offset: the record time of
// the last settled record (where the dedup rebuild starts from) and the cut.
type commitMeta struct {
	at  time.Time
	cut cut
}

const metaPrefix = "sluice/1 "

// String encodes the metadata as "sluice/1 <at> <cut last> <since>" (times
// in unix ms, 0 for none; cut last -1 for no cut).
func (m commitMeta) String() string {
	ms := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	return metaPrefix + ms(m.at) + " " + strconv.FormatInt(m.cut.last, 10) + " " + ms(m.cut.since)
}

// parseMeta reads commit metadata; ok is false for anything but the format
// String writes (a commit by another tool), which means no cut.
func parseMeta(s string) (m commitMeta, ok bool) {
	m.cut = noCut
	rest, ok := strings.CutPrefix(s, metaPrefix)
	if !ok {
		return m, false
	}
	f := strings.Split(rest, " ")
	if len(f) != 3 {
		return m, false
	}
	at, err1 := strconv.ParseInt(f[0], 10, 64)
	last, err2 := strconv.ParseInt(f[1], 10, 64)
	since, err3 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || at < 0 || last < -1 || since < 0 {
		return commitMeta{cut: noCut}, false
	}
	t := func(ms int64) time.Time {
		if ms == 0 {
			return time.Time{}
		}
		return time.UnixMilli(ms)
	}
	return commitMeta{at: t(at), cut: cut{last: last, since: t(since)}}, true
}

// errFenced reports a commit the group coordinator refused because this
// member no longer owns the partition in the current generation.
var errFenced = errors.New("delivery: this member no longer owns the partition")

// commit commits offset for a partition with m as metadata, as the
// current member and generation: the coordinator refuses it (errFenced)
// once the member was removed from the group or a new generation began
// without it. A successful commit is therefore also a lease check.
func (e *Engine) commit(ctx context.Context, cl *kgo.Client, p *partition, n int32, offset int64, m commitMeta) error {
	id, idErr := e.topicID(ctx, cl)
	if idErr != nil {
		return fmt.Errorf("commit: %w", idErr)
	}
	member, generation := cl.GroupMetadata()
	meta := m.String()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = e.cfg.Group, member, generation
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = e.topic, id // by name up to v9, by id from v10
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.Metadata = n, offset, &meta
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, t := range resp.Topics {
		for _, rp := range t.Partitions {
			if err := kerr.ErrorForCode(rp.ErrorCode); err != nil {
				if errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.UnknownMemberID) ||
					errors.Is(err, kerr.FencedInstanceID) || errors.Is(err, kerr.RebalanceInProgress) ||
					errors.Is(err, kerr.StaleMemberEpoch) {
					return fmt.Errorf("%w: %w", errFenced, err)
				}
				return fmt.Errorf("commit: %w", err)
			}
		}
	}
	e.owned.setCommitted(p, offset, m)
	return nil
}

// topicID returns dest.<name>'s topic id, which commits name from
// OffsetCommit v10 on; looked up once.
func (e *Engine) topicID(ctx context.Context, cl *kgo.Client) ([16]byte, error) {
	e.idMu.Lock()
	defer e.idMu.Unlock()
	if e.id != ([16]byte{}) {
		return e.id, nil
	}
	td, err := kadm.NewClient(cl).ListTopics(ctx, e.topic)
	if err != nil {
		return e.id, err
	}
	d, ok := td[e.topic]
	if !ok || d.Err != nil {
		return e.id, fmt.Errorf("topic %s: %v", e.topic, d.Err)
	}
	e.id = d.ID
	return e.id, nil
}
