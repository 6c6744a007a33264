package regulator

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/topics"
)

// The keys step (after the in-flight wait and the topics' tombstones)
// crypto-shreds the regulation's subjects: it tombstones in the keys topic
// every data key of its userIds, of the anonymousIds linked to them (or of
// its ANONYMOUS_ID subjects), and every unattributed day key, then checks
// that its table, caught up past the tombstones, holds none of them. From
// then on no copy of their events in events.raw, dest.*, violations or
// deadletter can be read, whatever the topics' retention (package
// processors/shred). Events of the subjects accepted after the filing may
// be under a key created later: they are new data, as for the warehouse.
//
// Events of a subject still queued for a destination the regulation does not
// wait for (a forwarding destination of a *_INTERNAL type) are never
// delivered after the keys step: they are deleted from sluice's topics.

// errKeysDisabled is the keys step's answer without a keyring.
const errKeysDisabled = "encryption is disabled (encryption: {disabled: true}): copies in the stream topics stay readable until their retention"

// keysStep is a new regulation's keys step: NOT_SUPPORTED without a keyring.
func (s *Service) keysStep() Step {
	if s.cfg.Keyring == nil {
		now := time.Now().UTC()
		return Step{Name: StepKeys, Status: NotSupported, Error: errKeysDisabled, FinishedAt: &now}
	}
	return Step{Name: StepKeys, Status: Initialized}
}

// shredKeys carries out the keys step of the regulations that need it.
func (r *runner) shredKeys(ctx context.Context, regs []*Regulation) error {
	var todo []*Regulation
	for _, g := range regs {
		if st := g.step(StepKeys); st != nil && !st.Status.Terminal() {
			todo = append(todo, g)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if r.keys == nil {
		now := time.Now().UTC()
		for _, g := range todo {
			st := g.step(StepKeys)
			st.Status, st.Error, st.FinishedAt = NotSupported, errKeysDisabled, &now
		}
		return r.saveAll(ctx, todo)
	}
	r.keysMu.Lock()
	defer r.keysMu.Unlock()
	if err := r.follower.CatchUp(ctx); err != nil {
		return err
	}
	r.keys.MarkCaughtUp()

	ws := r.cfg.Workspace
	topic := r.names.Of(topics.Keys)
	var recs []*kgo.Record
	var shredded []shred.KeyID
	add := func(s shred.Subject) int {
		ids := r.keys.KeyIDs(s)
		for _, id := range ids {
			recs = append(recs, &kgo.Record{Topic: topic, Key: shred.Tombstone(s, id).Key})
			shredded = append(shredded, id)
		}
		return len(ids)
	}
	// Unattributed keys: a refused body may hold anyone's data (package doc).
	unattributed := 0
	for _, s := range r.keys.Subjects(ws, shred.Unattributed) {
		unattributed += add(s)
	}
	counts := make([]int, len(todo))
	details := make([]string, len(todo))
	done := map[shred.Subject]int{}
	for i, g := range todo {
		st := g.step(StepKeys)
		st.Status = Running
		users, anons := 0, 0
		for _, u := range g.userIDs() {
			users += once(done, shred.Subject{Workspace: ws, Type: shred.UserID, ID: u}, add)
		}
		for _, a := range g.anonymousIDs() {
			anons += once(done, shred.Subject{Workspace: ws, Type: shred.AnonymousID, ID: a}, add)
		}
		counts[i] = users + anons + unattributed
		details[i] = fmt.Sprintf("%d data keys of %d userIds, %d of %d anonymousIds, %d unattributed day keys",
			users, len(g.userIDs()), anons, len(g.anonymousIDs()), unattributed)
	}
	// A key written again after an earlier shred is shredded again here too.
	for _, ts := range r.keys.Resurrected() {
		recs = append(recs, &kgo.Record{Topic: topic, Key: ts.Key})
	}
	rc, err := r.produce(ctx, recs)
	if err != nil {
		return err
	}
	if err := r.follower.CatchUp(ctx); err != nil {
		return err
	}
	for _, id := range shredded {
		if r.keys.Alive(id) {
			return fmt.Errorf("keys: data key %s is still live after its tombstone", id)
		}
	}
	now := time.Now().UTC()
	for i, g := range todo {
		st := g.step(StepKeys)
		st.Status, st.Error, st.FinishedAt = Finished, "", &now
		st.Receipt = &Receipt{At: now, Records: len(recs), KeysShredded: ptr(counts[i]), Offsets: rc.Offsets, Detail: details[i]}
	}
	return r.saveAll(ctx, todo)
}

// once calls add for s the first time a batch meets it, and counts what it
// added each time.
func once(done map[shred.Subject]int, s shred.Subject, add func(shred.Subject) int) int {
	if n, ok := done[s]; ok {
		return n
	}
	n := add(s)
	done[s] = n
	return n
}

// maintainKeys keeps the keys topic healthy every KeysInterval until ctx
// ends: it tombstones again keys written after their shred (a re-wrap that
// lost a race with a keys step anywhere), shreds unattributed keys older
// than UnattributedTTL, and re-wraps keys not under the current KEK. It logs
// when the count of keys under other KEKs changes, and keys it cannot unwrap.
func (r *runner) maintainKeys(ctx context.Context) {
	var last shred.Stats
	for first := true; ; first = false {
		st, err := r.keysPass(ctx, time.Now().UTC())
		switch {
		case err != nil:
			if ctx.Err() == nil {
				r.log.Warn("regulator: keys maintenance", "err", err)
			}
		default:
			cur := r.keys.Keyring().Current()
			if others, before := underOthers(st, cur), underOthers(last, cur); others != before || first {
				r.log.Info("regulator: data keys", "live", st.Live, "by KEK", st.ByKEK, "current", cur)
				if others == 0 && before > 0 {
					r.log.Info("regulator: every data key is wrapped by the current KEK; the other KEKs may leave the config", "current", cur)
				}
			}
			if len(st.Unwrappable) > 0 && !maps.Equal(st.Unwrappable, last.Unwrappable) {
				r.log.Error("regulator: data keys under KEKs this process does not hold: their events cannot be read "+
					"(add the KEKs back to the config until the keys are re-wrapped)", "by KEK", st.Unwrappable)
			}
			last = st
		}
		sleep(ctx, r.cfg.KeysInterval)
		if ctx.Err() != nil {
			return
		}
	}
}

// underOthers counts the live keys of st under a KEK other than current.
func underOthers(st shred.Stats, current string) int {
	n := 0
	for kek, c := range st.ByKEK {
		if kek != current {
			n += c
		}
	}
	return n
}

// rewrapBatch bounds the re-wraps of one pass.
const rewrapBatch = 10_000

// keysPass is one maintenance pass at now; it returns the table's counts
// after it.
func (r *runner) keysPass(ctx context.Context, now time.Time) (shred.Stats, error) {
	r.keysMu.Lock()
	defer r.keysMu.Unlock()
	if err := r.follower.CatchUp(ctx); err != nil {
		return shred.Stats{}, err
	}
	r.keys.MarkCaughtUp()
	topic := r.names.Of(topics.Keys)
	var recs []*kgo.Record
	for _, ts := range r.keys.Resurrected() {
		recs = append(recs, &kgo.Record{Topic: topic, Key: ts.Key})
	}
	again := len(recs)
	expired := 0
	for _, s := range r.keys.Subjects(r.cfg.Workspace, shred.Unattributed) {
		day, ok := s.Day()
		if !ok || now.Before(day.Add(24*time.Hour+r.cfg.UnattributedTTL)) {
			continue
		}
		for _, id := range r.keys.KeyIDs(s) {
			recs = append(recs, &kgo.Record{Topic: topic, Key: shred.Tombstone(s, id).Key})
			expired++
		}
	}
	rewrapped := r.keys.Rewrap(now, rewrapBatch)
	for _, rw := range rewrapped {
		recs = append(recs, &kgo.Record{Topic: topic, Key: rw.Key, Value: rw.Value})
	}
	if len(recs) > 0 {
		if _, err := r.produce(ctx, recs); err != nil {
			return shred.Stats{}, err
		}
		r.log.Info("regulator: keys maintenance", "tombstoned again", again, "unattributed expired", expired, "re-wrapped", len(rewrapped))
		if err := r.follower.CatchUp(ctx); err != nil {
			return shred.Stats{}, err
		}
	}
	return r.keys.Stats(), nil
}
