package consent

import "fmt"

// Prefs are one set of consent preferences: Known says whether there are any
// (an event or a user may have none), Granted which categories they grant.
type Prefs struct {
	Known   bool
	Granted Mask
}

// denyAll is what a failed read of preferences stands for: known, granting
// nothing, so every mapped destination is denied.
var denyAll = Prefs{Known: true}

// WhenMissing decides an event with neither event nor stored consent.
// The zero value is Deny.
type WhenMissing uint8

// WhenMissing values.
const (
	Deny WhenMissing = iota
	Allow
)

// ParseWhenMissing reads the config's consent.whenMissing: "" or "deny" is
// Deny, "allow" is Allow.
func ParseWhenMissing(s string) (WhenMissing, error) {
	switch s {
	case "", "deny":
		return Deny, nil
	case "allow":
		return Allow, nil
	}
	return Deny, fmt.Errorf("consent: whenMissing %q: want deny or allow", s)
}

// Decision names the rule that decided, a stable metrics label.
type Decision string

// Decisions.
const (
	DecisionUnmapped    Decision = "unmapped"
	DecisionEvent       Decision = "event"
	DecisionStored      Decision = "stored"
	DecisionWhenMissing Decision = "whenMissing"
)

// Decide reports whether an event may reach a destination mapped to the
// categories dest, and which rule decided: unmapped destinations (dest 0)
// receive everything; otherwise the event's preferences if known, else the
// stored ones if known, must grant every category of dest; with neither,
// whenMissing decides.
func Decide(dest Mask, event, stored Prefs, whenMissing WhenMissing) (allow bool, source Decision) {
	switch {
	case dest == 0:
		return true, DecisionUnmapped
	case event.Known:
		return event.Granted.Covers(dest), DecisionEvent
	case stored.Known:
		return stored.Granted.Covers(dest), DecisionStored
	default:
		return whenMissing == Allow, DecisionWhenMissing
	}
}
