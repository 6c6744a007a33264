package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/sinks"
)

// Delete produces a tombstone for each subject's key ("workspace/id" for
// every user id and anonymous id) and waits for the brokers to acknowledge
// them. The receipt's Detail says whether the topic is compacted: only then
// do the tombstones make the brokers forget the subjects' records.
func (s *Sink) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	if err := s.enter(); err != nil {
		return sinks.Receipt{}, err
	}
	defer s.inflight.Done()
	if err := req.Validate(); err != nil {
		return sinks.Receipt{}, err
	}
	var recs []*kgo.Record
	for _, ids := range [][]string{req.UserIDs, req.AnonymousIDs} {
		for _, id := range ids {
			recs = append(recs, &kgo.Record{Topic: s.cfg.Topic, Key: []byte(req.Workspace + "/" + id)})
		}
	}
	if err := s.plain.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return sinks.Receipt{}, fmt.Errorf("kafka: producing tombstones to %s: %w", s.cfg.Topic, err)
	}
	rec := sinks.Receipt{Tombstones: len(recs), Topic: s.cfg.Topic, Finished: time.Now().UTC()}
	policy, err := s.cleanupPolicy(ctx)
	switch {
	case err != nil:
		rec.Detail = "tombstones written; the topic's cleanup.policy could not be read: " + err.Error()
	case policy == "compact" || policy == "compact,delete" || policy == "delete,compact":
		rec.Detail = "tombstones written to a compacted topic: compaction removes the subjects' earlier records"
	default:
		rec.Detail = "tombstones written, but " + s.cfg.Topic + " has cleanup.policy=" + policy +
			": the subjects' earlier records stay until retention deletes them"
	}
	return rec, nil
}

// cleanupPolicy reads the topic's cleanup.policy.
func (s *Sink) cleanupPolicy(ctx context.Context) (string, error) {
	res, err := s.adm.DescribeTopicConfigs(ctx, s.cfg.Topic)
	if err != nil {
		return "", err
	}
	rc, err := res.On(s.cfg.Topic, nil)
	if err != nil {
		return "", err
	}
	if rc.Err != nil {
		return "", rc.Err
	}
	for _, c := range rc.Configs {
		if c.Key == "cleanup.policy" && c.Value != nil {
			return *c.Value, nil
		}
	}
	return "delete", nil
}
