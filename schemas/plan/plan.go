package plan

import (
	"sort"
	"strconv"
)

// CallType is the Segment call a schema describes.
type CallType string

// The calls a plan can describe. Alias calls carry no properties.
const (
	Track    CallType = "track"
	Identify CallType = "identify"
	Group    CallType = "group"
	Page     CallType = "page"
	Screen   CallType = "screen"
)

var callOrder = map[CallType]int{Identify: 0, Group: 1, Page: 2, Screen: 3, Track: 4}

// Schema is one record schema of a plan and what it applies to.
type Schema struct {
	Call CallType
	// Event and Version identify a track event's schema; empty and 0 otherwise.
	Event   string
	Version int
	// File is the .avsc file, relative to the plan directory.
	File string
	// Root is the record: its fields are the properties (track, page, screen)
	// or traits (identify, group).
	Root *Type
	// Policy is the plan's policy with this schema's overrides applied.
	Policy Policy
	// Compatibility is the rule publishing applies to this schema.
	Compatibility Compatibility
	// Canonical is the self-contained schema goavro accepted.
	Canonical string
}

// Target names what the schema applies to: `track "Order Completed" v2`,
// `identify`, `page`.
func (s *Schema) Target() string {
	if s.Call == Track {
		return "track " + quote(s.Event) + " v" + strconv.Itoa(s.Version)
	}
	return string(s.Call)
}

// Plan is a checked tracking plan.
type Plan struct {
	Manifest *Manifest
	// Files is every file the plan was loaded from, manifest included.
	Files Files
	// Policy is the plan-wide policy (defaults applied).
	Policy Policy
	// Schemas is every bound schema: identify, group, page, screen, then
	// track events by name and version.
	Schemas []*Schema
	// Types is the shared type library by full name.
	Types map[string]*Type
	// Hash is "sha256:" and the hex digest of the plan's meaning (see Hash).
	Hash string
}

// Name is the plan's name from its manifest.
func (p *Plan) Name() string { return p.Manifest.Name }

// Lookup returns the schema of a call; for track, of the event's version, or
// of its latest version when version is 0. Nil when the plan has none.
func (p *Plan) Lookup(call CallType, event string, version int) *Schema {
	var found *Schema
	for _, s := range p.Schemas {
		if s.Call != call || (call == Track && s.Event != event) {
			continue
		}
		if call != Track || s.Version == version {
			return s
		}
		if version == 0 && (found == nil || s.Version > found.Version) {
			found = s
		}
	}
	return found
}

// Events lists the track event names, sorted.
func (p *Plan) Events() []string {
	var out []string
	for _, s := range p.Schemas {
		if s.Call == Track && (len(out) == 0 || out[len(out)-1] != s.Event) {
			out = append(out, s.Event)
		}
	}
	return out
}

// Versions lists an event's versions in ascending order.
func (p *Plan) Versions(event string) []int {
	var out []int
	for _, s := range p.Schemas {
		if s.Call == Track && s.Event == event {
			out = append(out, s.Version)
		}
	}
	return out
}

func sortSchemas(ss []*Schema) {
	sort.Slice(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if a.Call != b.Call {
			return callOrder[a.Call] < callOrder[b.Call]
		}
		if a.Event != b.Event {
			return a.Event < b.Event
		}
		return a.Version < b.Version
	})
}
