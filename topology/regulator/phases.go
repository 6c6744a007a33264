package regulator

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/profiles"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/topology/topics"
)

// maxLinkRounds bounds the in-flight rounds: a round finds anonymousIds
// linked by events that were in flight, and (for suppressing types) needs
// one more wait after suppressing them. In practice the second round finds
// nothing, as a suppressed user's identify calls are dropped.
const maxLinkRounds = 3

// inFlight carries out the in-flight step (package doc: "Rows in flight"):
// it resolves the anonymousIds linked to USER_ID subjects, suppresses them
// for suppressing types, and waits until the router and every sink the
// batch deletes at have passed the end offsets of their input topics.
func (r *runner) inFlight(ctx context.Context, regs []*Regulation) error {
	var todo []*Regulation
	for _, g := range regs {
		if st := g.step(StepInFlight); st != nil && st.Status != Finished {
			st.Status = Running
			todo = append(todo, g)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	for round := 0; ; round++ {
		found, err := r.resolveLinks(ctx, todo, round > 0)
		if err != nil {
			return err
		}
		if round > 0 && !found || round >= maxLinkRounds {
			break
		}
		if err := r.waitRouter(ctx, todo); err != nil {
			return err
		}
		if err := r.waitSinks(ctx, todo); err != nil {
			return err
		}
	}
	now := time.Now().UTC()
	for _, g := range todo {
		g.Progress.LinksResolved = true
		st := g.step(StepInFlight)
		rc := &Receipt{At: now, Offsets: offsetList(r.cfg.RouterGroup, r.names.Of(topics.Raw), g.Progress.Raw)}
		for _, topic := range slices.Sorted(maps.Keys(g.Progress.Dest)) {
			rc.Offsets = append(rc.Offsets, offsetList(r.groupOfTopic(topic), topic, g.Progress.Dest[topic])...)
		}
		st.Status, st.Error, st.Detail, st.FinishedAt, st.Receipt = Finished, "", "", &now, rc
	}
	return r.saveAll(ctx, todo)
}

// groupOfTopic returns the sink group reading a destination topic.
func (r *runner) groupOfTopic(topic string) string {
	for _, d := range r.cfg.Destinations {
		if r.names.Destination(d.Name) == topic {
			return r.cfg.sinkGroup(d.Name)
		}
	}
	return ""
}

// resolveLinks catches up with the identities topic and adds the
// anonymousIds now linked to each USER_ID subject to Progress.Linked. For
// suppressing types it first suppresses them, on the userId's behalf, so
// that tombstoning the links later never lets their events through. After
// the wait (again), a regulation that got new links and suppresses needs a
// new wait: its offsets are cleared. It reports whether any link was new.
func (r *runner) resolveLinks(ctx context.Context, regs []*Regulation, again bool) (found bool, err error) {
	if err := r.follower.CatchUp(ctx); err != nil {
		return false, err
	}
	for _, g := range regs {
		if g.Request.SubjectType != UserID || g.Progress.LinksResolved {
			continue
		}
		known := map[string]bool{}
		for _, l := range g.Progress.Linked {
			for _, a := range l.AnonymousIDs {
				known[l.UserID+"\x00"+a] = true
			}
		}
		fresh := map[string][]string{}
		for _, u := range g.Request.SubjectIDs {
			for _, a := range r.links.anonymousIDs(u) {
				if !known[u+"\x00"+a] {
					fresh[u] = append(fresh[u], a)
				}
			}
		}
		if len(fresh) == 0 {
			continue
		}
		found = true
		if g.Request.RegulationType.Suppresses() {
			for _, u := range slices.Sorted(maps.Keys(fresh)) {
				if _, err := r.suppress(ctx, g, AnonymousID, fresh[u], u); err != nil {
					return false, err
				}
			}
			if again {
				g.Progress.Raw, g.Progress.Dest = nil, nil
			}
		}
		for _, u := range slices.Sorted(maps.Keys(fresh)) {
			g.Progress.Linked = mergeLinked(g.Progress.Linked, u, fresh[u])
		}
		if err := r.save(ctx, g); err != nil {
			return false, err
		}
	}
	return found, nil
}

func mergeLinked(ls []LinkedIDs, user string, anons []string) []LinkedIDs {
	for i := range ls {
		if ls[i].UserID == user {
			ls[i].AnonymousIDs = append(ls[i].AnonymousIDs, anons...)
			return ls
		}
	}
	return append(ls, LinkedIDs{UserID: user, AnonymousIDs: anons})
}

// waitRouter takes the events.raw end offsets for regulations that have none
// yet, saves them, and waits until the router group has passed them all.
func (r *runner) waitRouter(ctx context.Context, regs []*Regulation) error {
	topic := r.names.Of(topics.Raw)
	var take []*Regulation
	for _, g := range regs {
		if g.Progress.Raw == nil {
			take = append(take, g)
		}
	}
	if len(take) > 0 {
		ends, err := r.endOffsets(ctx, topic)
		if err != nil {
			return err
		}
		for _, g := range take {
			g.Progress.Raw, g.Progress.Dest = ends, nil
		}
		if err := r.saveAll(ctx, take); err != nil {
			return err
		}
	}
	var target map[int32]int64
	for _, g := range regs {
		target = maxOffsets(target, g.Progress.Raw)
	}
	return r.waitGroup(ctx, regs, r.cfg.RouterGroup, topic, target)
}

// waitSinks takes the end offsets of the destination topics the batch
// deletes at, once the router has passed the raw offsets, and waits until
// each destination's sink group has passed them.
func (r *runner) waitSinks(ctx context.Context, regs []*Regulation) error {
	var take []*Regulation
	for _, g := range regs {
		if g.Progress.Dest == nil {
			take = append(take, g)
		}
	}
	if len(take) > 0 {
		dest := map[string]map[int32]int64{}
		for _, d := range r.cfg.Destinations {
			if !d.Internal && !r.deletesAt(regs, d.Name) {
				continue // rows in flight to a destination we do not delete at do not matter
			}
			topic := r.names.Destination(d.Name)
			ends, err := r.endOffsets(ctx, topic)
			if err != nil {
				return err
			}
			dest[topic] = ends
		}
		for _, g := range take {
			g.Progress.Dest = dest
		}
		if err := r.saveAll(ctx, take); err != nil {
			return err
		}
	}
	for _, d := range r.cfg.Destinations {
		topic := r.names.Destination(d.Name)
		var target map[int32]int64
		for _, g := range regs {
			target = maxOffsets(target, g.Progress.Dest[topic])
		}
		if err := r.waitGroup(ctx, regs, r.cfg.sinkGroup(d.Name), topic, target); err != nil {
			return err
		}
	}
	return nil
}

// deletesAt reports whether a regulation of regs still deletes at dest.
func (r *runner) deletesAt(regs []*Regulation, dest string) bool {
	for _, g := range regs {
		if ds := g.destination(dest); ds != nil && !ds.Status.Terminal() {
			return true
		}
	}
	return false
}

// waitGroup polls group's committed offsets until they pass ends, showing
// what it waits for in the in-flight step's detail.
func (r *runner) waitGroup(ctx context.Context, regs []*Regulation, group, topic string, ends map[int32]int64) error {
	shown := ""
	for {
		late, err := r.groupPassed(ctx, group, topic, ends)
		if err != nil {
			return err
		}
		if len(late) == 0 {
			return nil
		}
		// Offsets move under traffic; the saved detail changes only with
		// the group and the number of partitions behind.
		coarse := fmt.Sprintf("waiting for consumer group %s to pass the end offsets of %s (%d partitions behind)", group, topic, len(late))
		if coarse != shown {
			shown = coarse
			r.log.Debug("regulator: "+describeBehind(group, topic, late), "regulations", len(regs))
			for _, g := range regs {
				g.step(StepInFlight).Detail = coarse
			}
			if err := r.saveAll(ctx, regs); err != nil {
				return err
			}
		}
		sleep(ctx, r.cfg.PollInterval)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// tombstones writes, for each regulation whose topics step is not done,
// tombstones for its subjects in profiles, consent and identities, and waits
// for the broker's acknowledgement.
func (r *runner) tombstones(ctx context.Context, regs []*Regulation) error {
	var todo []*Regulation
	var recs []*kgo.Record
	ws := r.cfg.Workspace
	for _, g := range regs {
		st := g.step(StepTopics)
		if st == nil || st.Status == Finished {
			continue
		}
		st.Status = Running
		todo = append(todo, g)
		for _, u := range g.userIDs() {
			recs = append(recs, &kgo.Record{Topic: r.names.Of(topics.Profiles), Key: profiles.Key(ws, u)})
			if key, err := consent.Key(ws, consent.UserID, u); err == nil {
				recs = append(recs, &kgo.Record{Topic: r.names.Of(topics.Consent), Key: key})
			}
		}
		for _, a := range g.anonymousIDs() {
			if key, err := consent.Key(ws, consent.AnonymousID, a); err == nil {
				recs = append(recs, &kgo.Record{Topic: r.names.Of(topics.Consent), Key: key})
			}
			if key, err := suppress.LinkKey(ws, a); err == nil {
				recs = append(recs, &kgo.Record{Topic: r.names.Of(topics.Identities), Key: key})
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	rc, err := r.produce(ctx, recs)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, g := range todo {
		st := g.step(StepTopics)
		n := 2*len(g.userIDs()) + 2*len(g.anonymousIDs())
		st.Status, st.Error, st.FinishedAt = Finished, "", &now
		st.Receipt = &Receipt{At: now, Records: n, Offsets: rc.Offsets}
	}
	return r.saveAll(ctx, todo)
}
