package router_test

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
)

// Each destination gets exactly the events consent, filters and dedup allow.
func TestRoutesByConsentFiltersAndDedup(t *testing.T) {
	e := newEnv(t)
	analyticsOnly := `{"consent":{"categoryPreferences":{"analytics":true,"advertising":false}}}`
	e.produce(t,
		event("u-grant", "m1", "Signed Up", grantAll),
		event("u-analytics", "m2", "Signed Up", analyticsOnly),
		event("u-none", "m3", "Signed Up", ""),
		event("u-grant", "m4", "Internal Test", grantAll),
		event("u-stored", "m5", "Segment Consent Preference Updated", analyticsOnly),
		event("u-stored", "m6", "Signed Up", ""),
		event("u-grant", "m1", "Signed Up", grantAll), // a retry of m1
	)
	e.startRouter(t)
	got := e.readDest(t, map[string]int{"warehouse": 5, "stream": 6, "crm": 1})

	want := map[string][]string{
		"warehouse": {"m1", "m2", "m4", "m5", "m6"},
		"stream":    {"m1", "m2", "m3", "m4", "m5", "m6"},
		"crm":       {"m1"},
	}
	for d, msgs := range want {
		if len(got[d].byMessage) != len(msgs) {
			t.Errorf("%s got %v, want %v", d, got[d].byMessage, msgs)
		}
		for _, m := range msgs {
			if got[d].byMessage[m] != 1 {
				t.Errorf("%s holds %s %d times, want once", d, m, got[d].byMessage[m])
			}
		}
	}
	if v := got["crm"].values["m1"]; strings.Contains(v, "email") {
		t.Errorf("crm received a dropped property: %s", v)
	}
	if v := got["warehouse"].values["m1"]; !strings.Contains(v, `"email"`) {
		t.Errorf("warehouse lost a property it should keep: %s", v)
	}
}

// Suppressions filed before the router starts hold from its first event
// (tables before traffic), by userId, anonymousId and linked anonymousId.
func TestSuppressionsGateFromTheStart(t *testing.T) {
	e := newEnv(t)
	e.suppress(t, suppress.UserID, "u-gone")
	e.suppress(t, suppress.AnonymousID, "anon-gone")

	linked := event("", "m-link", "", grantAll)
	linked.Type, linked.UserID, linked.AnonymousID, linked.Event = schemas.Identify, "u-gone", "anon-linked", ""
	anonAfter := event("", "m-anon-linked", "Viewed", grantAll)
	anonAfter.UserID, anonAfter.AnonymousID = "", "anon-linked"
	anonGone := event("", "m-anon-gone", "Viewed", grantAll)
	anonGone.UserID, anonGone.AnonymousID = "", "anon-gone"
	e.produce(t,
		event("u-gone", "m-gone", "Viewed", grantAll),
		linked, anonGone,
		event("u-kept", "m-kept", "Viewed", grantAll),
	)
	e.startRouter(t)
	e.readDest(t, map[string]int{"stream": 1})
	// Links and events of different users live on different partitions, so
	// the anonymous event is sent once the link is surely routed.
	e.produce(t, anonAfter, event("u-kept", "m-kept-2", "Viewed", grantAll))
	got := e.readDest(t, map[string]int{"stream": 2})
	for _, d := range e.dst {
		for m := range got[d].byMessage {
			if !strings.HasPrefix(m, "m-kept") {
				t.Errorf("%s received %s of a suppressed subject", d, m)
			}
		}
	}
	if got["stream"].byMessage["m-kept"] != 1 || got["stream"].byMessage["m-kept-2"] != 1 {
		t.Errorf("stream lost an unsuppressed event: %v", got["stream"].byMessage)
	}
}
