package validate

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sluicehq/sluice/schemas/plan"
)

// Input is what the stage needs of one event. Byte slices are read, never
// changed, and may be aliased by the Result.
type Input struct {
	// Plan is the tracking plan of the event's source; empty: no plan, the
	// event passes untouched.
	Plan string
	// Type is the Segment call: track, identify, group, page or screen.
	// Other calls (alias) carry no properties and pass.
	Type string
	// Event is the track event name.
	Event string
	// EventVersion is the raw JSON of context.protocols.event_version; nil
	// when the event has none.
	EventVersion []byte
	// Properties is the raw JSON object of properties (track, page, screen)
	// or traits (identify, group), exactly as sent; nil when absent.
	Properties []byte
}

// Validator checks events against the current set of plans. The set is
// swapped atomically: Put and Remove take effect for the next Validate call
// without stopping callers. Safe for concurrent use.
type Validator struct {
	mu    sync.Mutex // serializes writers; readers never lock
	plans atomic.Pointer[map[string]*compiledPlan]
}

// New returns a Validator holding no plans.
func New() *Validator {
	v := &Validator{}
	empty := map[string]*compiledPlan{}
	v.plans.Store(&empty)
	return v
}

// compiledPlan is one plan version ready for the hot path.
type compiledPlan struct {
	plan    *plan.Plan
	version int
	events  map[string][]*compiled // track: versions ascending
	calls   map[plan.CallType]*compiled
}

// compiled is one schema ready for the hot path.
type compiled struct {
	schema   *plan.Schema
	root     *node
	defaults []Value // Values of an event that sent no field
}

// compile prepares a plan version for the hot path.
func compile(p *plan.Plan, version int) (*compiledPlan, error) {
	cp := &compiledPlan{plan: p, version: version, events: map[string][]*compiled{}, calls: map[plan.CallType]*compiled{}}
	c := &compiler{memo: map[*plan.Type]*node{}}
	for _, s := range p.Schemas {
		root, err := c.compile(s.Root)
		if err != nil {
			return nil, fmt.Errorf("plan %s, %s: %w", p.Name(), s.Target(), err)
		}
		cs := &compiled{schema: s, root: root}
		for _, f := range root.fields {
			cs.defaults = append(cs.defaults, f.def)
		}
		if s.Call == plan.Track {
			cp.events[s.Event] = append(cp.events[s.Event], cs) // Schemas are sorted by version
		} else {
			cp.calls[s.Call] = cs
		}
	}
	return cp, nil
}

// Put installs p as the current version of its plan, replacing any other
// version. It fails only if the plan cannot be compiled.
func (v *Validator) Put(p *plan.Plan, version int) error {
	cp, err := compile(p, version)
	if err != nil {
		return err
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	old := *v.plans.Load()
	next := make(map[string]*compiledPlan, len(old)+1)
	for k, x := range old {
		next[k] = x
	}
	next[p.Name()] = cp
	v.plans.Store(&next)
	return nil
}

// Remove drops a plan: its sources' events are then blocked as Unknown-Plan.
func (v *Validator) Remove(name string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old := *v.plans.Load()
	next := make(map[string]*compiledPlan, len(old))
	for k, x := range old {
		if k != name {
			next[k] = x
		}
	}
	v.plans.Store(&next)
}

// Plan returns the current version of a plan and its published version.
func (v *Validator) Plan(name string) (*plan.Plan, int, bool) {
	cp, ok := (*v.plans.Load())[name]
	if !ok {
		return nil, 0, false
	}
	return cp.plan, cp.version, true
}

// Validate judges one event into r (reset first). The outcome follows the
// policy of the schema (or of the plan for unplanned events):
//   - no plan named, or a call the plan has no schema for: Pass, untouched;
//   - a plan the validator does not hold: Blocked (Unknown-Plan), to the
//     violations topic: plans fail closed;
//   - an unplanned track event or event version: the unplannedEvents policy;
//   - otherwise the properties are checked field by field (see package doc).
//
// It returns an error wrapping ErrMalformed only for properties that are not
// well-formed JSON.
func (v *Validator) Validate(in Input, r *Result) error {
	r.reset()
	r.Properties = in.Properties
	if in.Plan == "" {
		return nil
	}
	cp, ok := (*v.plans.Load())[in.Plan]
	if !ok {
		r.Outcome, r.ToViolations = Blocked, true
		r.Violations = append(r.Violations, Violation{Path: "plan", Kind: UnknownPlan, Expected: "a published tracking plan", Actual: strconv.Quote(in.Plan), Action: plan.Block})
		return nil
	}
	r.PlanVersion = cp.version
	root := "properties"
	var cs *compiled
	switch call := plan.CallType(in.Type); call {
	case plan.Track:
		cs = cp.resolveTrack(in, r)
		if cs == nil {
			return nil
		}
	case plan.Identify, plan.Group:
		root = "traits"
		fallthrough
	case plan.Page, plan.Screen:
		if cs = cp.calls[call]; cs == nil {
			return nil
		}
	default:
		return nil
	}
	return cs.check(in.Properties, root, r)
}

// resolveTrack picks the schema of a track event, or applies the unplanned
// event policy and returns nil.
//
// context.protocols.event_version: absent or null means the latest
// version; an integer of 1 or more selects that version, and a version the
// plan lacks makes the event unplanned; anything else is a
// Datatype-Mismatch, handled by the latest version's typeViolations policy,
// and the event is checked against the latest version.
func (cp *compiledPlan) resolveTrack(in Input, r *Result) *compiled {
	versions := cp.events[in.Event]
	if len(versions) == 0 {
		cp.unplanned(r, "event", "a planned event", strconv.Quote(in.Event))
		return nil
	}
	latest := versions[len(versions)-1]
	want, present, valid := eventVersion(in.EventVersion)
	switch {
	case !present:
		return latest
	case !valid:
		act := latest.schema.Policy.TypeViolations
		if act == plan.Omit {
			act = plan.Allow // the version is not in properties: nothing to omit
		}
		r.Violations = append(r.Violations, Violation{Path: "context.protocols.event_version", Kind: DatatypeMismatch,
			Expected: "int", Actual: clip(in.EventVersion), Action: act})
		if act == plan.Block {
			r.Outcome, r.ToViolations = Blocked, latest.schema.Policy.BlockedToViolations
			r.Schema = latest.schema
			return nil
		}
		return latest
	}
	for _, cs := range versions {
		if cs.schema.Version == want {
			return cs
		}
	}
	have := make([]string, len(versions))
	for i, cs := range versions {
		have[i] = strconv.Itoa(cs.schema.Version)
	}
	cp.unplanned(r, "context.protocols.event_version", "one of "+strings.Join(have, ", "), strconv.Itoa(want))
	return nil
}

func (cp *compiledPlan) unplanned(r *Result, path, expected, actual string) {
	act := cp.plan.Policy.UnplannedEvents
	r.Violations = append(r.Violations, Violation{Path: path, Kind: UnplannedEvent, Expected: expected, Actual: actual, Action: act})
	if act == plan.Block {
		r.Outcome, r.ToViolations = Blocked, cp.plan.Policy.BlockedToViolations
	}
}

// eventVersion reads context.protocols.event_version: a JSON integer of 1
// or more, surrounded by nothing but whitespace.
func eventVersion(raw []byte) (version int, present, valid bool) {
	i, j := 0, len(raw)
	for i < j && isSpace(raw[i]) {
		i++
	}
	for j > i && isSpace(raw[j-1]) {
		j--
	}
	s := raw[i:j]
	if len(s) == 0 || string(s) == "null" {
		return 0, false, false
	}
	if len(s) > 9 || s[0] == '0' {
		return 0, true, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, true, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
