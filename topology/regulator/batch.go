package regulator

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// runBatch takes a batch of regulations as far as it can: the in-flight
// wait (with the linked anonymousIds), the topics' tombstones, the data
// keys' tombstones, one delete call per destination for the whole batch,
// and the ClickHouse count. Every step's outcome is written to the
// regulations topic before the next step starts, so a regulator that dies
// repeats at most one (idempotent) step.
// It returns an error only when it could not write a regulation.
func (r *runner) runBatch(ctx context.Context, regs []*Regulation) error {
	regs, err := r.dropInvalid(ctx, regs)
	if err != nil || len(regs) == 0 {
		return err
	}
	for _, g := range regs {
		if g.OverallStatus == Initialized {
			g.OverallStatus = Running
		}
		g.NextAttemptAt = nil
		r.reconcileDestinations(g)
	}
	if err := r.saveAll(ctx, regs); err != nil {
		return err
	}
	r.log.Info("regulator: batch", "regulations", len(regs), "subjects", subjects(regs))

	if err := r.inFlight(ctx, regs); err != nil {
		if isSaveErr(err) {
			return err
		}
		return r.endPass(ctx, regs, StepInFlight, err)
	}
	if err := r.tombstones(ctx, regs); err != nil {
		if isSaveErr(err) {
			return err
		}
		return r.endPass(ctx, regs, StepTopics, err)
	}
	if err := r.shredKeys(ctx, regs); err != nil {
		if isSaveErr(err) {
			return err
		}
		return r.endPass(ctx, regs, StepKeys, err)
	}
	if err := r.countBefore(ctx, regs); err != nil {
		return r.endPass(ctx, regs, StepClickHouse, err)
	}
	if err := r.destinations(ctx, regs); err != nil || ctx.Err() != nil {
		return err
	}
	if err := r.verify(ctx, regs); err != nil {
		return r.endPass(ctx, regs, StepClickHouse, err)
	}
	return r.endPass(ctx, regs, "", nil)
}

// dropInvalid marks INVALID the regulations whose record does not hold a
// request the API would accept (written by hand, or damaged), and returns
// the others.
func (r *runner) dropInvalid(ctx context.Context, regs []*Regulation) ([]*Regulation, error) {
	var ok []*Regulation
	for _, g := range regs {
		body, _ := json.Marshal(Body{g.Request.RegulationType, g.Request.SubjectType, g.Request.SubjectIDs})
		if _, err := DecodeBody(body); err != nil {
			now := time.Now().UTC()
			g.OverallStatus, g.FinishedAt = Invalid, &now
			for i := range g.Steps {
				if !g.Steps[i].Status.Terminal() {
					g.Steps[i].Status, g.Steps[i].Error = Invalid, err.Error()
				}
			}
			r.log.Warn("regulator: invalid regulation", "id", g.ID, "err", err)
			if err := r.save(ctx, g); err != nil {
				return nil, err
			}
			continue
		}
		ok = append(ok, g)
	}
	return ok, nil
}

// reconcileDestinations gives a destination configured after the regulation
// was filed its status.
func (r *runner) reconcileDestinations(g *Regulation) {
	for _, d := range r.cfg.Destinations {
		if g.destination(d.Name) != nil {
			continue
		}
		tmp := &Regulation{Request: g.Request}
		r.plan(tmp)
		if ds := tmp.destination(d.Name); ds != nil {
			g.Destinations = append(g.Destinations, *ds)
		}
	}
	if r.cfg.Warehouse != nil && g.step(StepClickHouse) == nil {
		g.Steps = append(g.Steps, Step{Name: StepClickHouse, Status: Initialized})
	}
	if g.step(StepKeys) == nil { // filed before the keys step existed
		g.Steps = append(g.Steps, r.keysStep())
	}
}

// saveErr marks a failure to write a regulation (as opposed to a step's).
type saveErr struct{ error }

func (e saveErr) Unwrap() error { return e.error }

func isSaveErr(err error) bool {
	var se saveErr
	return errors.As(err, &se)
}

func (r *runner) save(ctx context.Context, g *Regulation) error {
	if err := r.store.put(ctx, g); err != nil {
		return saveErr{err}
	}
	return nil
}

func (r *runner) saveAll(ctx context.Context, regs []*Regulation) error {
	for _, g := range regs {
		if err := r.save(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// endPass records the pass's outcome: a failed step (stepName, err) counts
// an attempt and schedules the next one with backoff, or, after
// MaxAttempts, fails what is left; a regulation with every step and
// destination done gets its overall status.
func (r *runner) endPass(ctx context.Context, regs []*Regulation, stepName string, err error) error {
	if ctx.Err() != nil {
		return nil // stopping: whoever resumes repeats the step
	}
	now := time.Now().UTC()
	for _, g := range regs {
		failedPass := false
		if st := g.step(stepName); err != nil && st != nil && !st.Status.Terminal() {
			st.Status, st.Error = Running, err.Error()
			failedPass = true
		}
		for _, d := range g.Destinations {
			if !d.Status.Terminal() && d.Error != "" {
				failedPass = true
			}
		}
		if failedPass {
			g.Attempts++
			if g.Attempts >= r.cfg.MaxAttempts {
				giveUp(g, now)
			} else {
				g.NextAttemptAt = ptr(now.Add(r.cfg.backoff(g.Attempts)))
			}
		}
		if done(g) {
			g.OverallStatus = overall(g)
			g.FinishedAt = &now
			g.NextAttemptAt = nil
			r.log.Info("regulation done", "id", g.ID, "status", g.OverallStatus, "took", now.Sub(g.CreatedAt))
		}
	}
	return r.saveAll(ctx, regs)
}

// giveUp fails every step and destination not done.
func giveUp(g *Regulation, now time.Time) {
	for i := range g.Steps {
		if st := &g.Steps[i]; !st.Status.Terminal() {
			st.Status, st.FinishedAt = Failed, &now
			if st.Error == "" {
				st.Error = "not reached: an earlier step failed"
			}
		}
	}
	for i := range g.Destinations {
		if d := &g.Destinations[i]; !d.Status.Terminal() {
			d.Status, d.FinishedAt = Failed, &now
			if d.Error == "" {
				d.Error = "not reached: an earlier step failed"
			}
		}
	}
}

// done reports whether every step and destination of g is terminal.
func done(g *Regulation) bool {
	for _, st := range g.Steps {
		if !st.Status.Terminal() {
			return false
		}
	}
	for _, d := range g.Destinations {
		if !d.Status.Terminal() {
			return false
		}
	}
	return true
}

// overall is the status of a regulation whose steps and destinations are all
// done: FINISHED when nothing failed; FAILED when one of sluice's own steps
// failed (its own data may remain) or nothing succeeded; PARTIAL_SUCCESS
// when some destinations failed and the rest succeeded.
func overall(g *Regulation) Status {
	ok, bad := 0, 0
	for _, st := range g.Steps {
		switch st.Status {
		case Finished:
			ok++
		case Failed, Invalid:
			return Failed
		}
	}
	for _, d := range g.Destinations {
		switch d.Status {
		case Finished:
			ok++
		case Failed, Invalid:
			bad++
		}
	}
	switch {
	case bad == 0:
		return Finished
	case ok == 0:
		return Failed
	default:
		return PartialSuccess
	}
}

func subjects(regs []*Regulation) int {
	n := 0
	for _, g := range regs {
		n += len(g.Request.SubjectIDs)
	}
	return n
}

// union returns the delete request of every subject of regs.
func (r *runner) union(regs []*Regulation) sinks.DeleteRequest {
	req := sinks.DeleteRequest{Workspace: r.cfg.Workspace}
	seenU, seenA := map[string]bool{}, map[string]bool{}
	for _, g := range regs {
		for _, u := range g.userIDs() {
			if !seenU[u] {
				seenU[u] = true
				req.UserIDs = append(req.UserIDs, u)
			}
		}
		for _, a := range g.anonymousIDs() {
			if !seenA[a] {
				seenA[a] = true
				req.AnonymousIDs = append(req.AnonymousIDs, a)
			}
		}
	}
	return req
}

// destinations makes one Delete call per destination for the regulations of
// the batch that still need it, and saves each outcome before the next call.
func (r *runner) destinations(ctx context.Context, regs []*Regulation) error {
	for _, d := range r.cfg.Destinations {
		if d.Deleter == nil {
			continue
		}
		var todo []*Regulation
		for _, g := range regs {
			if ds := g.destination(d.Name); ds != nil && !ds.Status.Terminal() {
				todo = append(todo, g)
			}
		}
		if len(todo) == 0 {
			continue
		}
		req := r.union(todo)
		rc, err := d.Deleter.Delete(ctx, req)
		now := time.Now().UTC()
		class := classify(ctx, err)
		if err != nil && class == classShutdown {
			return nil
		}
		if err != nil {
			r.log.Warn("regulator: delete at destination failed", "destination", d.Name, "err", err)
		}
		for _, g := range todo {
			ds := g.destination(d.Name)
			switch {
			case err == nil:
				rcp := receiptOf(rc)
				rcp.Batch = &BatchInfo{Regulations: len(todo), Subjects: len(req.UserIDs) + len(req.AnonymousIDs)}
				ds.Status, ds.Error, ds.FinishedAt, ds.Receipt = Finished, "", &now, &rcp
			case class == classPermanent:
				ds.Attempts++
				ds.Status, ds.Error, ds.FinishedAt = Failed, err.Error(), &now
			default:
				ds.Attempts++
				ds.Status, ds.Error = Running, err.Error()
				if ds.Attempts >= r.cfg.MaxAttempts {
					ds.Status, ds.FinishedAt = Failed, &now
				}
			}
		}
		if err := r.saveAll(ctx, todo); err != nil {
			return err
		}
	}
	return nil
}
