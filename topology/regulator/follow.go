package regulator

import (
	"context"
	"slices"
	"time"

	"github.com/sluicehq/sluice/topology/admin"
)

// FollowActor files the regulations that follow a deletion forward: it is
// their FiledBy.
var FollowActor = admin.Actor{Holder: "regulator", TokenID: "identity-link", Role: "regulator"}

// LateLink is an anonymousId linked to a regulation's userId after the
// regulation ended (a login from a new device, an alias), and the
// regulation filed for it.
type LateLink struct {
	UserID      string    `json:"userId"`
	AnonymousID string    `json:"anonymousId"`
	SeenAt      time.Time `json:"seenAt"`
	// Regulation is the id of the regulation that deletes what the
	// anonymousId sent: same type, subject type ANONYMOUS_ID.
	Regulation string `json:"regulation"`
}

// followLinks carries ended SUPPRESS_WITH_DELETE* regulations forward along
// identity links made after their end: for each anonymousId newly linked to
// one of their userIds it files a regulation of the same type for that
// anonymousId (which suppresses it, deletes what it sent from the warehouse
// and the destinations, and shreds its key) and records it on the ended
// regulation as a LateLink. Links seen before the end were part of the
// regulation itself (Progress.Linked).
//
// DELETE_ONLY regulations are not followed: their subject may go on using
// the product, and a device linked later carries new data, not the data the
// request was about.
//
// Filing is idempotent (the Idempotency-Key names the regulation and the
// anonymousId), so a crash between filing and recording files nothing twice.
// It runs in the purge loop, the one writer of ended regulations.
func (r *runner) followLinks(ctx context.Context) error {
	regs := r.store.list(func(g *Regulation) bool {
		t := g.Request.RegulationType
		return g.Workspace == r.cfg.Workspace && t.Suppresses() && t.Deletes() &&
			g.Request.SubjectType == UserID && g.OverallStatus.Terminal() && r.own.owns(g.ID)
	})
	fctx := admin.WithActor(ctx, FollowActor)
	for _, stored := range regs {
		known := map[string]bool{}
		for _, a := range stored.anonymousIDs() {
			known[a] = true
		}
		var g *Regulation
		for _, u := range stored.Request.SubjectIDs {
			for _, a := range r.links.anonymousIDs(u) {
				if known[a] {
					continue
				}
				body := Body{RegulationType: stored.Request.RegulationType, SubjectType: AnonymousID, SubjectIDs: []string{a}}
				id, _, err := r.Create(fctx, body, "follow/"+stored.ID+"/"+a)
				if err != nil {
					return err
				}
				if g == nil {
					g = stored.clone()
				}
				known[a] = true
				g.Progress.Linked = mergeLinked(g.Progress.Linked, u, []string{a})
				g.LateLinks = append(g.LateLinks, LateLink{UserID: u, AnonymousID: a, SeenAt: time.Now().UTC(), Regulation: id})
				r.log.Info("regulator: a deleted subject was linked again; filed a regulation for the new anonymousId",
					"regulation", stored.ID, "filed", id)
			}
		}
		if g == nil {
			continue
		}
		slices.SortFunc(g.LateLinks, func(a, b LateLink) int { return a.SeenAt.Compare(b.SeenAt) })
		if err := r.save(ctx, g); err != nil {
			return err
		}
	}
	return nil
}
