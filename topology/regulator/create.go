package regulator

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/topology/admin"
	"github.com/sluicehq/sluice/topology/topics"
)

// ErrIdempotencyConflict reports an Idempotency-Key already used for a
// different request.
var ErrIdempotencyConflict = errors.New("regulator: the Idempotency-Key was already used for a different request")

// Create files a regulation and returns its id. replayed is true when key
// (the Idempotency-Key, may be empty) names a regulation filed before with
// the same body: its id is returned and nothing is written.
//
// For the SUPPRESS* types Create returns only once every suppression record
// is acknowledged by the broker in the suppressions topic; from then on
// DESIGN guarantee 1 holds. UNSUPPRESS returns once the tombstones are
// acknowledged. The DELETE* types are left INITIALIZED for the regulator.
// A failed Create may have written suppressions but no regulation; a retry
// with the same key writes them again, which changes nothing.
func (s *Service) Create(ctx context.Context, b Body, key string) (id string, replayed bool, err error) {
	now := time.Now().UTC()
	if key != "" {
		id = idForKey(s.cfg.Workspace, key)
		// The key's regulation may have been filed through another API
		// process: look at everything written so far before deciding.
		if err := s.store.catchUp(ctx); err != nil {
			return "", false, err
		}
		if old, ok := s.store.get(id); ok {
			if !sameRequest(old.Request, b) {
				return "", false, ErrIdempotencyConflict
			}
			return id, true, nil
		}
	} else {
		id = newID()
	}
	r := &Regulation{
		ID:        id,
		Workspace: s.cfg.Workspace,
		Request: Request{RegulationType: b.RegulationType, SubjectType: b.SubjectType,
			SubjectIDs: b.SubjectIDs, CreatedAt: now, IdempotencyKey: key},
		OverallStatus: Initialized,
		CreatedAt:     now,
		FiledBy:       admin.ActorFrom(ctx),
	}
	switch {
	case b.RegulationType.Suppresses():
		rc, err := s.suppress(ctx, r, b.SubjectType, b.SubjectIDs, "")
		if err != nil {
			return "", false, err
		}
		r.Steps = append(r.Steps, Step{Name: StepSuppress, Status: Finished, FinishedAt: ptr(time.Now().UTC()), Receipt: rc})
	case b.RegulationType == Unsuppress:
		rc, err := s.unsuppress(ctx, b.SubjectType, b.SubjectIDs)
		if err != nil {
			return "", false, err
		}
		r.Steps = append(r.Steps, Step{Name: StepUnsuppress, Status: Finished, FinishedAt: ptr(time.Now().UTC()), Receipt: rc})
	}
	if b.RegulationType.Deletes() {
		s.plan(r)
	} else {
		r.OverallStatus = Finished
		r.FinishedAt = ptr(time.Now().UTC())
	}
	if err := s.store.put(ctx, r); err != nil {
		return "", false, err
	}
	s.log.Info("regulation filed", "id", id, "type", b.RegulationType, "subjects", len(b.SubjectIDs))
	return id, false, nil
}

// plan lists the steps and destinations of a DELETE* regulation.
func (s *Service) plan(r *Regulation) {
	r.Steps = append(r.Steps, Step{Name: StepInFlight, Status: Initialized}, Step{Name: StepTopics, Status: Initialized}, s.keysStep())
	if s.cfg.Warehouse != nil {
		r.Steps = append(r.Steps, Step{Name: StepClickHouse, Status: Initialized})
	}
	now := time.Now().UTC()
	for _, d := range s.cfg.Destinations {
		ds := DestinationStatus{Name: d.Name, Status: Initialized}
		switch {
		case d.Deleter == nil:
			ds.Status, ds.Error, ds.FinishedAt = NotSupported, "the destination cannot delete", &now
		case !d.Internal && r.Request.RegulationType.Internal():
			ds.Status, ds.Error, ds.FinishedAt = NotSupported, "not forwarded: "+string(r.Request.RegulationType)+" deletes only sluice's own tables and topics", &now
		}
		r.Destinations = append(r.Destinations, ds)
	}
}

// sameRequest reports whether a stored request is the one b asks for again.
func sameRequest(old Request, b Body) bool {
	return old.RegulationType == b.RegulationType && old.SubjectType == b.SubjectType && slices.Equal(old.SubjectIDs, b.SubjectIDs)
}

// idForKey derives a regulation id from an Idempotency-Key, so that every
// API process gives a retry the same id.
func idForKey(workspace, key string) string {
	sum := sha256.Sum256([]byte(workspace + "\x00" + key))
	return "rg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return "rg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// suppressionValue is a suppressions-topic value: suppress.Record's fields,
// plus, for an anonymousId suppressed because it was linked to a deleted
// userId, that userId, so that UNSUPPRESS of the userId can lift it too.
type suppressionValue struct {
	suppress.Record
	LinkedUserID string `json:"linkedUserId,omitempty"`
}

// suppress writes suppression records for ids and waits for the broker's
// acknowledgement of all of them. linkedTo is the userId the ids are linked
// to, when they are suppressed on its behalf.
func (s *Service) suppress(ctx context.Context, r *Regulation, typ SubjectType, ids []string, linkedTo string) (*Receipt, error) {
	topic := s.names.Of(topics.Suppressions)
	at := time.Now().UTC()
	recs := make([]*kgo.Record, 0, len(ids))
	for _, id := range ids {
		key, err := suppress.Key(s.cfg.Workspace, suppress.SubjectType(typ), id)
		if err != nil {
			return nil, err
		}
		rec := suppress.Record{RegulationID: r.ID, SubjectType: suppress.SubjectType(typ), SubjectID: id, At: at}
		if _, err := suppress.EncodeRecord(rec); err != nil {
			return nil, err
		}
		value, err := json.Marshal(suppressionValue{Record: rec, LinkedUserID: linkedTo})
		if err != nil {
			return nil, err
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: key, Value: value})
	}
	return s.produce(ctx, recs)
}

// unsuppress writes tombstones for the subjects' suppression records, and
// for USER_ID subjects also for the anonymousIds suppressed on their behalf
// by an earlier SUPPRESS_WITH_DELETE (found by reading the topic).
func (s *Service) unsuppress(ctx context.Context, typ SubjectType, ids []string) (*Receipt, error) {
	topic := s.names.Of(topics.Suppressions)
	var recs []*kgo.Record
	for _, id := range ids {
		key, err := suppress.Key(s.cfg.Workspace, suppress.SubjectType(typ), id)
		if err != nil {
			return nil, err
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: key})
	}
	if typ == UserID {
		users := map[string]bool{}
		for _, id := range ids {
			users[id] = true
		}
		linked := map[string][]byte{} // key → latest value, to skip lifted ones
		err := s.scan(ctx, topic, nil, func(rec *kgo.Record) {
			if rec.Value == nil {
				delete(linked, string(rec.Key))
				return
			}
			var v suppressionValue
			if json.Unmarshal(rec.Value, &v) == nil && v.LinkedUserID != "" && users[v.LinkedUserID] &&
				strings.HasPrefix(string(rec.Key), s.cfg.Workspace+"/") {
				linked[string(rec.Key)] = rec.Key
			} else {
				delete(linked, string(rec.Key))
			}
		})
		if err != nil {
			return nil, err
		}
		for _, key := range linked {
			recs = append(recs, &kgo.Record{Topic: topic, Key: key})
		}
	}
	return s.produce(ctx, recs)
}

// produce writes records and waits until the broker acknowledged every one,
// bounded by ProduceTimeout.
func (s *Service) produce(ctx context.Context, recs []*kgo.Record) (*Receipt, error) {
	rc := &Receipt{At: time.Now().UTC(), Records: len(recs)}
	if len(recs) == 0 {
		return rc, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ProduceTimeout)
	defer cancel()
	results := s.prod.ProduceSync(ctx, recs...)
	if err := results.FirstErr(); err != nil {
		return nil, fmt.Errorf("regulator: the broker did not acknowledge every record: %w", err)
	}
	rc.Offsets = lastOffsets(recs)
	return rc, nil
}

// lastOffsets returns the highest offset written per topic partition.
func lastOffsets(recs []*kgo.Record) []Offset {
	type tp struct {
		t string
		p int32
	}
	last := map[tp]int64{}
	for _, r := range recs {
		k := tp{r.Topic, r.Partition}
		if o, ok := last[k]; !ok || r.Offset > o {
			last[k] = r.Offset
		}
	}
	out := make([]Offset, 0, len(last))
	for k, o := range last {
		out = append(out, Offset{Topic: k.t, Partition: k.p, Offset: o})
	}
	slices.SortFunc(out, func(a, b Offset) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return out
}
