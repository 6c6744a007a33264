package delivery

import (
	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
)

// privacy re-checks suppression and consent at delivery: a suppression or a
// consent withdrawal that arrived after the router routed an event still
// holds for it.
type privacy struct {
	suppress    *suppress.Stage
	consent     *consent.Store
	categories  *consent.Categories
	mask        consent.Mask
	whenMissing consent.WhenMissing
}

// drop reports whether ev may not be delivered, and why.
func (p *privacy) drop(ev *schemas.Event) (bool, string) {
	if drop, reason := p.suppress.Decide(ev.Workspace, ev.UserID, ev.AnonymousID); drop {
		return true, "suppressed_" + string(reason)
	}
	if p.mask == 0 {
		return false, ""
	}
	eventPrefs, err := p.categories.EventPrefs(ev.Context)
	if err != nil {
		return true, "consent_unreadable"
	}
	var stored consent.Prefs
	if !eventPrefs.Known {
		// Lookup grants nothing on error, so an error still denies.
		stored, _ = p.consent.Lookup(ev.Workspace, ev.UserID, ev.AnonymousID)
	}
	if allow, _ := consent.Decide(p.mask, eventPrefs, stored, p.whenMissing); !allow {
		return true, "consent"
	}
	return false, ""
}
