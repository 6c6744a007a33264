package plan

import "strings"

// Action is what the validation stage does with a kind of violation.
type Action string

// The actions. Omit is allowed for properties and type violations only.
const (
	// Allow lets the event through unchanged; the violation is still reported.
	Allow Action = "allow"
	// Omit removes the offending properties and lets the rest through.
	Omit Action = "omit"
	// Block stops the event.
	Block Action = "block"
)

// PolicySpec is a policy as written in the manifest: empty fields inherit
// (an event from the plan, the plan from the defaults).
type PolicySpec struct {
	// UnplannedEvents applies to track events the plan does not list (allow | block).
	UnplannedEvents Action `yaml:"unplannedEvents,omitempty" json:"unplannedEvents,omitempty"`
	// UnplannedProperties applies to keys no schema field names (allow | omit | block).
	UnplannedProperties Action `yaml:"unplannedProperties,omitempty" json:"unplannedProperties,omitempty"`
	// TypeViolations applies to missing required fields, wrong JSON types,
	// out-of-range numbers and unknown enum symbols (allow | omit | block).
	TypeViolations Action `yaml:"typeViolations,omitempty" json:"typeViolations,omitempty"`
	// BlockedToViolations sends blocked events to the violations topic; default true.
	BlockedToViolations *bool `yaml:"blockedToViolations,omitempty" json:"blockedToViolations,omitempty"`
}

// Policy is a resolved policy: every field set.
type Policy struct {
	UnplannedEvents     Action `json:"unplannedEvents"`
	UnplannedProperties Action `json:"unplannedProperties"`
	TypeViolations      Action `json:"typeViolations"`
	BlockedToViolations bool   `json:"blockedToViolations"`
}

// DefaultPolicy lets everything through and reports violations, as Segment
// Protocols does out of the box; blocked events go to the violations topic.
var DefaultPolicy = Policy{
	UnplannedEvents:     Allow,
	UnplannedProperties: Allow,
	TypeViolations:      Allow,
	BlockedToViolations: true,
}

// apply returns p with the fields s sets replaced.
func (p Policy) apply(s PolicySpec) Policy {
	if s.UnplannedEvents != "" {
		p.UnplannedEvents = s.UnplannedEvents
	}
	if s.UnplannedProperties != "" {
		p.UnplannedProperties = s.UnplannedProperties
	}
	if s.TypeViolations != "" {
		p.TypeViolations = s.TypeViolations
	}
	if s.BlockedToViolations != nil {
		p.BlockedToViolations = *s.BlockedToViolations
	}
	return p
}

// check validates the spec's actions; planWide says whether unplannedEvents
// may be set (it has no meaning on one event).
func (s *PolicySpec) check(c *collector, file, path string, planWide bool) {
	norm := func(a *Action, key string, allowed ...Action) {
		if *a == "" {
			return
		}
		*a = Action(strings.ToLower(string(*a)))
		for _, ok := range allowed {
			if *a == ok {
				return
			}
		}
		names := make([]string, len(allowed))
		for i, ok := range allowed {
			names[i] = string(ok)
		}
		c.add(file, path+"."+key, "%q is not one of %s", string(*a), strings.Join(names, " | "))
	}
	if s.UnplannedEvents != "" && !planWide {
		c.add(file, path+".unplannedEvents", "only the plan-wide policy can set unplannedEvents: an unplanned event has no entry of its own")
	} else {
		norm(&s.UnplannedEvents, "unplannedEvents", Allow, Block)
	}
	norm(&s.UnplannedProperties, "unplannedProperties", Allow, Omit, Block)
	norm(&s.TypeViolations, "typeViolations", Allow, Omit, Block)
}

// Compatibility is the rule a new schema must meet against the schema of the
// same event version in the previously published plan.
type Compatibility string

// The compatibility modes.
const (
	// Backward (default): every event valid under the previous schema is
	// valid under the new one, so clients need not change first.
	Backward Compatibility = "BACKWARD"
	// Forward: every event valid under the new schema was valid under the
	// previous one, so consumers of the previous shape keep working.
	Forward Compatibility = "FORWARD"
	// Full is both Backward and Forward.
	Full Compatibility = "FULL"
	// None checks nothing.
	None Compatibility = "NONE"
)

// ParseCompatibility accepts the mode names in any case; empty means Backward.
func ParseCompatibility(s string) (Compatibility, bool) {
	switch c := Compatibility(strings.ToUpper(strings.TrimSpace(s))); c {
	case "":
		return Backward, true
	case Backward, Forward, Full, None:
		return c, true
	}
	return "", false
}

func (c *Compatibility) check(col *collector, file, path string) {
	if *c == "" {
		return
	}
	v, ok := ParseCompatibility(string(*c))
	if !ok {
		col.add(file, path, "%q is not one of BACKWARD | FORWARD | FULL | NONE", string(*c))
		return
	}
	*c = v
}
