package router_test

import (
	"testing"

	"github.com/sluicehq/sluice/schemas"
)

// Consent follows identity, the analytics.js way: a visitor answers the
// consent banner anonymously (analytics yes, advertising no), browses, logs
// in (identify links the anonymousId), and the shop's server then sends
// events with the userId only. They reach the analytics destination, not
// the advertising one, both from the router that saw the link and from a
// router that learnt it from the topics after a restart; a user without a
// link gets nothing from the visitor's consent.
func TestConsentFollowsIdentity(t *testing.T) {
	e := newEnv(t)
	banner := `{"consent":{"categoryPreferences":{"analytics":true,"advertising":false}}}`
	anon := func(ev schemas.Event, anonymousID string) schemas.Event {
		ev.UserID, ev.AnonymousID = "", anonymousID
		return ev
	}
	consentEv := anon(event("", "m-consent", "Segment Consent Preference Updated", banner), "anon-1")
	page := anon(event("", "m-page", "", banner), "anon-1")
	page.Type, page.Event, page.Name = schemas.Page, "", "Home"
	login := event("u-1", "m-identify", "", "")
	login.Type, login.Event, login.AnonymousID = schemas.Identify, "", "anon-1"
	e.produce(t, consentEv, page)
	stop := e.startRouter(t)
	e.readDest(t, map[string]int{"stream": 2})
	e.produce(t, login)
	e.readDest(t, map[string]int{"stream": 3})

	e.produce(t, event("u-1", "m-server-1", "Order Completed", ""), event("u-other", "m-other-1", "Order Completed", ""))
	got := e.readDest(t, map[string]int{"stream": 5})
	if got["warehouse"].byMessage["m-server-1"] != 1 {
		t.Errorf("warehouse did not get the linked user's server-side event: %v", got["warehouse"].byMessage)
	}
	if got["crm"].byMessage["m-server-1"] != 0 || got["warehouse"].byMessage["m-other-1"] != 0 {
		t.Errorf("consent leaked: crm %v, warehouse %v", got["crm"].byMessage, got["warehouse"].byMessage)
	}

	// A router that starts now learns the link and the consent from the topics.
	stop()
	e.startRouter(t)
	e.produce(t, event("u-1", "m-server-2", "Order Completed", ""), event("u-other", "m-other-2", "Order Completed", ""))
	got = e.readDest(t, map[string]int{"stream": 7})
	if got["warehouse"].byMessage["m-server-2"] != 1 {
		t.Errorf("after a restart, warehouse did not get the linked user's event: %v", got["warehouse"].byMessage)
	}
	if got["crm"].byMessage["m-server-2"] != 0 || got["warehouse"].byMessage["m-other-2"] != 0 {
		t.Errorf("consent leaked after a restart: crm %v, warehouse %v", got["crm"].byMessage, got["warehouse"].byMessage)
	}
}
