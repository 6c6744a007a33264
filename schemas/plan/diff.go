package plan

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
)

// ChangeKind classifies one difference between two plans.
type ChangeKind string

// The kinds of change Diff reports.
const (
	EventAdded      ChangeKind = "event-added"      // a track event the previous plan lacked
	EventRemoved    ChangeKind = "event-removed"    // a track event the new plan lacks
	VersionAdded    ChangeKind = "version-added"    // a new version of a known event
	VersionRemoved  ChangeKind = "version-removed"  // a version of an event dropped
	SchemaAdded     ChangeKind = "schema-added"     // identify, group, page or screen schema added
	SchemaRemoved   ChangeKind = "schema-removed"   // identify, group, page or screen schema removed
	FieldAdded      ChangeKind = "field-added"      // New holds the type and "required" or "optional"
	FieldRemoved    ChangeKind = "field-removed"    // Old holds the type
	TypeChanged     ChangeKind = "type-changed"     // Old and New hold the types
	MadeOptional    ChangeKind = "made-optional"    // a required field may now be absent or null
	MadeRequired    ChangeKind = "made-required"    // an optional field must now be present
	SymbolsAdded    ChangeKind = "symbols-added"    // New lists the added enum symbols
	SymbolsRemoved  ChangeKind = "symbols-removed"  // Old lists the removed enum symbols
	DefaultChanged  ChangeKind = "default-changed"  // Old and New hold the JSON defaults
	PolicyChanged   ChangeKind = "policy-changed"   // Path names the policy key
	ManifestChanged ChangeKind = "manifest-changed" // Path names the manifest key
)

// Change is one difference. Target is what changed (`track "Order
// Completed" v2`, `identify`, `plan`); Path is the field path inside it
// ("products[].price", "attributes{}" for map values). Against is set when a
// new event version is compared with the event's previous version ("v1").
type Change struct {
	Kind    ChangeKind `json:"kind"`
	Target  string     `json:"target"`
	Against string     `json:"against,omitempty"`
	Path    string     `json:"path,omitempty"`
	Old     string     `json:"old,omitempty"`
	New     string     `json:"new,omitempty"`
}

// Changes is every difference between two plans, in schema order.
type Changes []Change

// Diff lists what changed from prev to next: events, versions and schemas
// added or removed; fields added, removed, retyped, made optional or
// required; enum symbols; defaults; policies and manifest keys. prev may be
// nil (nothing published yet): everything is then added. A new version of
// a known event is also compared with the highest version below it.
func Diff(prev, next *Plan) Changes {
	var out Changes
	if prev == nil {
		prev = &Plan{Manifest: &Manifest{}, Policy: DefaultPolicy}
	}
	out = diffManifest(out, prev, next)
	prevByTarget := map[string]*Schema{}
	for _, s := range prev.Schemas {
		prevByTarget[s.Target()] = s
	}
	nextByTarget := map[string]*Schema{}
	for _, s := range next.Schemas {
		nextByTarget[s.Target()] = s
	}
	prevEvents, nextEvents := prev.Events(), next.Events()
	for _, s := range next.Schemas {
		old := prevByTarget[s.Target()]
		switch {
		case old != nil:
			out = diffPolicy(out, s.Target(), old.Policy, s.Policy)
			out = diffRecord(out, s.Target(), "", "", old.Root, s.Root)
		case s.Call != Track:
			out = append(out, Change{Kind: SchemaAdded, Target: s.Target(), New: s.File})
		case !slices.Contains(prevEvents, s.Event):
			if s.Version == next.Versions(s.Event)[0] {
				out = append(out, Change{Kind: EventAdded, Target: "track " + quote(s.Event), New: "versions " + joinInts(next.Versions(s.Event))})
			}
		default:
			out = append(out, Change{Kind: VersionAdded, Target: s.Target(), New: s.File})
			if base := previousVersion(prev, next, s); base != nil {
				out = diffRecord(out, s.Target(), "v"+strconv.Itoa(base.Version), "", base.Root, s.Root)
			}
		}
	}
	for _, s := range prev.Schemas {
		if nextByTarget[s.Target()] != nil {
			continue
		}
		switch {
		case s.Call != Track:
			out = append(out, Change{Kind: SchemaRemoved, Target: s.Target(), Old: s.File})
		case !slices.Contains(nextEvents, s.Event):
			if s.Version == prev.Versions(s.Event)[0] {
				out = append(out, Change{Kind: EventRemoved, Target: "track " + quote(s.Event), Old: "versions " + joinInts(prev.Versions(s.Event))})
			}
		default:
			out = append(out, Change{Kind: VersionRemoved, Target: s.Target(), Old: s.File})
		}
	}
	return out
}

// previousVersion is the schema a new event version is best compared with:
// the highest lower version, from the new plan or else the previous one.
func previousVersion(prev, next *Plan, s *Schema) *Schema {
	var best *Schema
	for _, p := range []*Plan{next, prev} {
		for _, c := range p.Schemas {
			if c.Call == Track && c.Event == s.Event && c.Version < s.Version && (best == nil || c.Version > best.Version) {
				best = c
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

func diffManifest(out Changes, prev, next *Plan) Changes {
	pm, nm := prev.Manifest, next.Manifest
	add := func(key, o, n string) {
		if o != n {
			out = append(out, Change{Kind: ManifestChanged, Target: "plan", Path: key, Old: o, New: n})
		}
	}
	if prev.Manifest.Name != "" {
		add("name", pm.Name, nm.Name)
		add("description", pm.Description, nm.Description)
		add("owners", strings.Join(pm.Owners, ", "), strings.Join(nm.Owners, ", "))
		pc, _ := ParseCompatibility(string(pm.Compatibility))
		nc, _ := ParseCompatibility(string(nm.Compatibility))
		add("compatibility", string(pc), string(nc))
	}
	return diffPolicy(out, "plan", prev.Policy, next.Policy)
}

func diffPolicy(out Changes, target string, o, n Policy) Changes {
	add := func(key string, ov, nv string) {
		if ov != nv {
			out = append(out, Change{Kind: PolicyChanged, Target: target, Path: "policy." + key, Old: ov, New: nv})
		}
	}
	add("unplannedEvents", string(o.UnplannedEvents), string(n.UnplannedEvents))
	add("unplannedProperties", string(o.UnplannedProperties), string(n.UnplannedProperties))
	add("typeViolations", string(o.TypeViolations), string(n.TypeViolations))
	add("blockedToViolations", strconv.FormatBool(o.BlockedToViolations), strconv.FormatBool(n.BlockedToViolations))
	return out
}

// diffRecord compares the fields of two records: in the old order for
// removed and changed fields, then the new fields in the new order.
func diffRecord(out Changes, target, against, path string, o, n *Type) Changes {
	for _, of := range o.Fields {
		fp := joinPath(path, of.Name)
		nf := n.Field(of.Name)
		if nf == nil {
			out = append(out, Change{Kind: FieldRemoved, Target: target, Against: against, Path: fp, Old: of.Type.String()})
			continue
		}
		switch {
		case of.Optional() && !nf.Optional():
			out = append(out, Change{Kind: MadeRequired, Target: target, Against: against, Path: fp, Old: of.Type.String(), New: nf.Type.String()})
		case !of.Optional() && nf.Optional():
			out = append(out, Change{Kind: MadeOptional, Target: target, Against: against, Path: fp, Old: of.Type.String(), New: nf.Type.String()})
		}
		if of.Default != nil && nf.Default != nil && !bytes.Equal(of.Default, nf.Default) {
			out = append(out, Change{Kind: DefaultChanged, Target: target, Against: against, Path: fp, Old: string(of.Default), New: string(nf.Default)})
		}
		out = diffType(out, target, against, fp, of.Type.NonNull(), nf.Type.NonNull())
	}
	for _, nf := range n.Fields {
		if o.Field(nf.Name) == nil {
			req := "required"
			if nf.Optional() {
				req = "optional"
			}
			out = append(out, Change{Kind: FieldAdded, Target: target, Against: against, Path: joinPath(path, nf.Name), New: nf.Type.String() + ", " + req})
		}
	}
	return out
}

// diffType compares two types at a path; records, arrays and maps recurse.
func diffType(out Changes, target, against, path string, o, n *Type) Changes {
	if o.Nullable() != n.Nullable() {
		return append(out, Change{Kind: TypeChanged, Target: target, Against: against, Path: path, Old: o.String(), New: n.String()})
	}
	o, n = o.NonNull(), n.NonNull()
	switch {
	case o.Kind == Record && n.Kind == Record:
		return diffRecord(out, target, against, path, o, n)
	case o.Kind == Array && n.Kind == Array:
		return diffType(out, target, against, path+"[]", o.Items, n.Items)
	case o.Kind == Map && n.Kind == Map:
		return diffType(out, target, against, path+"{}", o.Values, n.Values)
	case o.Kind == Enum && n.Kind == Enum:
		if added := missing(n.Symbols, o.Symbols); len(added) > 0 {
			out = append(out, Change{Kind: SymbolsAdded, Target: target, Against: against, Path: path, New: strings.Join(added, ", ")})
		}
		if removed := missing(o.Symbols, n.Symbols); len(removed) > 0 {
			out = append(out, Change{Kind: SymbolsRemoved, Target: target, Against: against, Path: path, Old: strings.Join(removed, ", ")})
		}
		return out
	}
	if o.String() != n.String() {
		out = append(out, Change{Kind: TypeChanged, Target: target, Against: against, Path: path, Old: o.String(), New: n.String()})
	}
	return out
}

// missing lists the elements of a that b lacks, in a's order.
func missing(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
