package deadletters

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/topics"
)

// ReplayRequest selects the dead letters of one destination to replay.
type ReplayRequest struct {
	// Filter selects the letters; Destination is required, Origin must be
	// empty or sink (only sink letters go back to a destination).
	Filter
	// DryRun counts what a replay would do and writes nothing.
	DryRun bool `json:"dryRun,omitempty"`
	// Again replays letters that an earlier replay re-delivered already.
	Again bool `json:"again,omitempty"`
}

// Report is what a replay did (or, dry, would do).
type Report struct {
	// ID names the replay: its audit record's id, the HeaderReplay of its
	// records. Empty in a dry run.
	ID          string `json:"id,omitempty"`
	Destination string `json:"destination"`
	Topic       string `json:"topic"`
	DryRun      bool   `json:"dryRun,omitempty"`
	// Selected counts the readable letters of the destination the filter selects.
	Selected int `json:"selected"`
	// Replayed counts the events written back to the destination's topic.
	Replayed int `json:"replayed"`
	// AlreadyReplayed counts the selected letters an earlier replay
	// re-delivered, left alone without Again.
	AlreadyReplayed int `json:"alreadyReplayed"`
	// SkippedSuppressed counts the selected letters whose subject is
	// suppressed now.
	SkippedSuppressed int `json:"skippedSuppressed"`
	// SkippedShredded counts the sink letters in the time range whose data
	// key is shredded (their subject was deleted): they cannot be opened,
	// so their destination cannot be told, and none is replayed.
	SkippedShredded int `json:"skippedShredded"`
	// Unreadable counts the sink letters in the time range that cannot be
	// opened otherwise, and selected letters whose event does not decode.
	Unreadable int `json:"unreadable"`
}

// counts is the report's outcome as the audit record keeps it.
func (r Report) counts() map[string]int64 {
	return map[string]int64{
		"selected": int64(r.Selected), "replayed": int64(r.Replayed), "alreadyReplayed": int64(r.AlreadyReplayed),
		"skippedSuppressed": int64(r.SkippedSuppressed), "skippedShredded": int64(r.SkippedShredded), "unreadable": int64(r.Unreadable),
	}
}

// TransactionalIDPrefix prefixes the transactional id of a replay:
// "sluice-replay-<destination>", one per destination, so that a replay
// fences any other replay of its destination still running.
const TransactionalIDPrefix = topics.ReplayTransactionalIDPrefix

// ErrConcurrentReplay reports a replay fenced by another replay of the
// same destination that started after it: nothing was replayed.
var ErrConcurrentReplay = errors.New("deadletters: another replay of this destination started meanwhile; this one replayed nothing")

// Replay writes the selected sink letters' events back to the
// destination's topic, where its sink delivers them through its privacy
// re-check. Letters of subjects suppressed now, or whose key is shredded,
// are skipped; so are letters replayed before, unless Again. The events,
// replay markers on the deadletter topic and audit (the replay's audit
// record, which Replay completes with the destination, filter and counts)
// are written in one transaction: all or nothing. A dry run writes nothing.
func (s *Service) Replay(ctx context.Context, req ReplayRequest, audit *admin.Record) (Report, error) {
	rep := Report{Destination: req.Destination, Topic: s.names.Destination(req.Destination), DryRun: req.DryRun}
	if err := s.checkReplay(req); err != nil {
		return rep, err
	}
	filter := req.Filter.String()
	req.Origin = OriginSink
	var cl *kgo.Client
	if !req.DryRun {
		var err error
		if cl, err = s.fence(ctx, req.Destination); err != nil {
			return rep, err
		}
		defer cl.Close()
	}
	t, err := s.readTables(ctx, true)
	if err != nil {
		return rep, err
	}
	snap, err := s.read(ctx, req.Filter, t, true)
	if err != nil {
		return rep, err
	}
	for reason, n := range snap.keyed {
		if reason == shred.Reason(shred.ErrShredded) {
			rep.SkippedShredded += n
		} else {
			rep.Unreadable += n
		}
	}
	if !req.DryRun {
		rep.ID = audit.ID
	}
	var recs []*kgo.Record
	var replayed []string
	for _, l := range snap.letters {
		rep.Selected++
		rec, outcome := s.replayRecord(l, t, req.Again, rep.ID)
		switch outcome {
		case outcomeReplayed:
			rep.Replayed++
			recs = append(recs, rec)
			replayed = append(replayed, l.ID)
		case outcomeAlready:
			rep.AlreadyReplayed++
		case outcomeSuppressed:
			rep.SkippedSuppressed++
		case outcomeShredded:
			rep.SkippedShredded++
		default:
			rep.Unreadable++
		}
	}
	if req.DryRun {
		return rep, nil
	}
	audit.Action, audit.Destination, audit.Filter, audit.Counts = admin.ActionDeadLetterReplay, req.Destination, filter, rep.counts()
	ar, err := audit.Kafka(s.names.Of(topics.Audit))
	if err != nil {
		return rep, err
	}
	recs = append(recs, markers(s.names.Of(topics.DeadLetter), marker{Replay: rep.ID, Destination: req.Destination, At: time.Now().UTC()}, replayed)...)
	recs = append(recs, ar)
	if err := commit(ctx, cl, recs); err != nil {
		return Report{Destination: rep.Destination, Topic: rep.Topic}, err
	}
	s.log.Info("deadletters: replayed", "replay", rep.ID, "destination", req.Destination, "replayed", rep.Replayed,
		"skippedSuppressed", rep.SkippedSuppressed, "skippedShredded", rep.SkippedShredded, "unreadable", rep.Unreadable)
	return rep, nil
}

// checkReplay names the first bad field of req.
func (s *Service) checkReplay(req ReplayRequest) error {
	switch {
	case req.Destination == "":
		return &fieldError{"destination", "destination: required (the destination whose dead letters to replay)"}
	case !s.hasDestination(req.Destination):
		return &fieldError{"destination", fmt.Sprintf("destination %q is not in the workspace's config", req.Destination)}
	case req.Origin != "" && req.Origin != OriginSink:
		return &fieldError{"origin", "only sink dead letters can be replayed: refused api input and router dead letters never reached a destination (see docs/deadletters.md)"}
	}
	return req.Filter.check()
}

// Outcomes of one letter in a replay.
const (
	outcomeReplayed = iota
	outcomeAlready
	outcomeSuppressed
	outcomeShredded
	outcomeUnreadable
)

// replayRecord is the dest.<name> record that re-delivers l, and what
// became of l.
func (s *Service) replayRecord(l *Letter, t *privacyTables, again bool, replay string) (*kgo.Record, int) {
	if !l.replayable() {
		return nil, outcomeUnreadable
	}
	if len(l.Replays) > 0 && !again {
		return nil, outcomeAlready
	}
	if drop, _ := t.stage.Decide(l.event.Workspace, l.event.UserID, l.event.AnonymousID); drop {
		return nil, outcomeSuppressed
	}
	v := []byte(l.payload)
	if t.keys != nil {
		var err error
		if v, err = t.keys.Seal(make([]byte, 0, len(v)+shred.Overhead), l.kid, v); err != nil {
			return nil, outcomeShredded
		}
	}
	return &kgo.Record{Topic: s.names.Destination(l.Destination), Key: l.key, Value: v, Headers: []kgo.RecordHeader{
		{Key: HeaderReplay, Value: []byte(replay)},
		{Key: HeaderLetter, Value: []byte(l.ID)},
		topics.MessageHashHeader(l.event.Workspace, l.event.MessageID),
	}}, outcomeReplayed
}

// fence returns the transactional client of a replay of dest, after it
// fenced every earlier client of the same id: an earlier replay still
// running cannot commit any more, and its transaction is finished before
// this replay reads the markers.
func (s *Service) fence(ctx context.Context, dest string) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Seeds...),
		kgo.TransactionalID(TransactionalIDPrefix + dest),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchMaxBytes(topics.RegulationsMaxBytes),
	}, s.cfg.ClientOpts...)...)
	if err != nil {
		return nil, fmt.Errorf("deadletters: %w", err)
	}
	if _, _, err := cl.ProducerID(ctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("deadletters: start the replay's transaction: %w", err)
	}
	return cl, nil
}

// commit writes recs in one transaction.
func commit(ctx context.Context, cl *kgo.Client, recs []*kgo.Record) error {
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("deadletters: begin the replay's transaction: %w", err)
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		_ = cl.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return fencedOr(fmt.Errorf("deadletters: replay: %w", err))
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fencedOr(fmt.Errorf("deadletters: commit the replay: %w", err))
	}
	return nil
}

// fencedOr returns ErrConcurrentReplay for an error of a fenced producer,
// else err.
func fencedOr(err error) error {
	if errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) {
		return fmt.Errorf("%w (%w)", ErrConcurrentReplay, err)
	}
	return err
}
