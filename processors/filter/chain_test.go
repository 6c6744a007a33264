package filter

import (
	"fmt"
	"math"
	"testing"
)

func mustCompile(t testing.TB, specs ...Spec) *Chain {
	t.Helper()
	c, err := Compile(specs)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var sampleEvent = Event{
	Type: "track", Event: "Order Completed", UserID: "u1", AnonymousID: "a1", MessageID: "m1",
	Properties: []byte(`{"total":150,"currency":"EUR","email":"x@example.com","address":{"street":"1 Main St","city":"Paris"},"flag":"yes"}`),
	Context:    []byte(`{"library":{"name":"analytics.js"},"ip":"203.0.113.9"}`),
	Traits:     []byte(`{"plan":"enterprise"}`),
}

func TestChain(t *testing.T) {
	cases := []struct {
		name   string
		specs  []Spec
		ev     func(*Event)
		keep   bool
		reason Reason
		filter int
		props  string // expected properties when kept; "" = unchanged
	}{
		{"no filters", nil, nil, true, ReasonNone, -1, ""},
		{"drop by event", []Spec{{Drop: `event == "Order Completed"`}}, nil, false, ReasonDropped, 0, ""},
		{"drop does not hold", []Spec{{Drop: `event == "Internal Test"`}}, nil, true, ReasonNone, -1, ""},
		{"drop by type and ids", []Spec{{Drop: `type == "track" && userId == "u1" && anonymousId == "a1" && messageId == "m1"`}}, nil, false, ReasonDropped, 0, ""},
		{"drop by property", []Spec{{Drop: `properties.total > 100`}}, nil, false, ReasonDropped, 0, ""},
		{"drop by nested property", []Spec{{Drop: `properties.address.city == "Paris"`}}, nil, false, ReasonDropped, 0, ""},
		{"drop by context", []Spec{{Drop: `context.library.name == "analytics.js"`}}, nil, false, ReasonDropped, 0, ""},
		{"drop by traits", []Spec{{Drop: `traits.plan == "enterprise"`}}, nil, false, ReasonDropped, 0, ""},
		{"optional chaining on a missing object", []Spec{{Drop: `properties?.nope?.deeper == 1`}}, nil, true, ReasonNone, -1, ""},
		{"evaluation error fails closed", []Spec{{Drop: `properties.missing > 1`}}, nil, false, ReasonExpressionError, 0, ""},
		{"non-boolean result fails closed", []Spec{{Drop: `properties.flag`}}, nil, false, ReasonExpressionError, 0, ""},
		{"unreadable properties fail closed", []Spec{{Drop: `properties.total > 1`}}, func(e *Event) { e.Properties = []byte(`{"total":`) }, false, ReasonExpressionError, 0, ""},
		{"unreadable properties ignored when not read", []Spec{{Drop: `event == "x"`}}, func(e *Event) { e.Properties = []byte(`{"total":`) }, true, ReasonNone, -1, ""},
		{"absent context reads as nil", []Spec{{Drop: `context == nil`}}, func(e *Event) { e.Context = nil }, false, ReasonDropped, 0, ""},
		{"drop properties", []Spec{{DropProperties: []string{"email", "nope"}}}, nil, true, ReasonNone, -1,
			`{"total":150,"currency":"EUR","address":{"street":"1 Main St","city":"Paris"},"flag":"yes"}`},
		{"drop nested property", []Spec{{DropProperties: []string{"address.street"}}}, nil, true, ReasonNone, -1,
			`{"total":150,"currency":"EUR","email":"x@example.com","address":{"city":"Paris"},"flag":"yes"}`},
		{"allow properties", []Spec{{AllowProperties: []string{"total", "currency"}}}, nil, true, ReasonNone, -1,
			`{"total":150,"currency":"EUR"}`},
		{"allow nested property", []Spec{{AllowProperties: []string{"address.city"}}}, nil, true, ReasonNone, -1,
			`{"address":{"city":"Paris"}}`},
		{"allow nothing", []Spec{{AllowProperties: []string{}}}, nil, true, ReasonNone, -1, `{}`},
		{"drop then allow", []Spec{{DropProperties: []string{"currency"}}, {AllowProperties: []string{"total", "currency"}}}, nil, true, ReasonNone, -1,
			`{"total":150}`},
		{"properties not an object", []Spec{{DropProperties: []string{"email"}}}, func(e *Event) { e.Properties = []byte(`[1]`) }, false, ReasonPropertiesError, 0, ""},
		{"invalid properties", []Spec{{AllowProperties: []string{"email"}}}, func(e *Event) { e.Properties = []byte(`{"email":}`) }, false, ReasonPropertiesError, 0, ""},
		{"absent properties pass", []Spec{{AllowProperties: []string{"email"}}}, func(e *Event) { e.Properties = nil }, true, ReasonNone, -1, ""},
		{"sample none", []Spec{{Sample: &Sample{Percent: 0}}}, nil, false, ReasonSampledOut, 0, ""},
		{"sample all", []Spec{{Sample: &Sample{Percent: 100, Path: "userId"}}}, nil, true, ReasonNone, -1, ""},
		// Listed last to first; run in Segment's order, so the sample drops
		// first, and the drop expression still sees the email that the
		// property filters would remove.
		{"Segment's order: sample first", []Spec{
			{AllowProperties: []string{"total"}}, {DropProperties: []string{"email"}}, {Drop: `properties.email != ""`}, {Sample: &Sample{Percent: 0}}},
			nil, false, ReasonSampledOut, 3, ""},
		{"Segment's order: drop before property edits", []Spec{
			{AllowProperties: []string{"total"}}, {DropProperties: []string{"email"}}, {Drop: `properties.email == "x@example.com"`}},
			nil, false, ReasonDropped, 2, ""},
		{"Segment's order: all pass", []Spec{
			{AllowProperties: []string{"total", "email"}}, {DropProperties: []string{"email"}}, {Drop: `properties.email == "nobody"`}, {Sample: &Sample{Percent: 100}}},
			nil, true, ReasonNone, -1, `{"total":150}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := sampleEvent
			if c.ev != nil {
				c.ev(&ev)
			}
			r := mustCompile(t, c.specs...).Apply(ev)
			if r.Keep != c.keep || r.Reason != c.reason || r.Filter != c.filter {
				t.Fatalf("Apply = keep %v reason %q filter %d err %v; want %v %q %d", r.Keep, r.Reason, r.Filter, r.Err, c.keep, c.reason, c.filter)
			}
			if (r.Err != nil) != (c.reason == ReasonExpressionError || c.reason == ReasonPropertiesError) {
				t.Fatalf("Err = %v with reason %q", r.Err, r.Reason)
			}
			if !c.keep {
				return
			}
			want := string(ev.Properties)
			if c.props != "" {
				want = c.props
			}
			if string(r.Properties) != want {
				t.Fatalf("properties = %s\nwant %s", r.Properties, want)
			}
			if c.props == "" && len(ev.Properties) > 0 && &r.Properties[0] != &ev.Properties[0] {
				t.Fatal("unchanged properties were copied")
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	cases := map[string]Spec{
		"nothing set":         {},
		"two kinds":           {Drop: `true`, DropProperties: []string{"a"}},
		"percent above 100":   {Sample: &Sample{Percent: 101}},
		"negative percent":    {Sample: &Sample{Percent: -1}},
		"NaN percent":         {Sample: &Sample{Percent: math.NaN()}},
		"unknown sample root": {Sample: &Sample{Percent: 5, Path: "email"}},
		"member of a string":  {Sample: &Sample{Percent: 5, Path: "userId.x"}},
		"bare object":         {Sample: &Sample{Percent: 5, Path: "properties"}},
		"empty path segment":  {DropProperties: []string{"a..b"}},
		"syntax error":        {Drop: `event ==`},
		"unknown name":        {Drop: `evnt == "x"`},
		"not a boolean":       {Drop: `1 + 2`},
	}
	for name, s := range cases {
		if _, err := Compile([]Spec{{Drop: "true"}, s}); err == nil {
			t.Errorf("%s: Compile accepted %+v", name, s)
		} else if want := "filter[1]: "; len(err.Error()) < len(want) || err.Error()[:len(want)] != want {
			t.Errorf("%s: error %q does not name the filter", name, err)
		}
	}
}

func TestSampleDeterministic(t *testing.T) {
	c := mustCompile(t, Spec{Sample: &Sample{Percent: 30, Path: "userId"}})
	kept := 0
	const users = 20000
	for i := 0; i < users; i++ {
		ev := Event{UserID: fmt.Sprint("user-", i)}
		first := c.Apply(Event{UserID: ev.UserID, MessageID: "a"}).Keep
		for j := 0; j < 3; j++ {
			if got := c.Apply(Event{UserID: ev.UserID, MessageID: fmt.Sprint(j)}).Keep; got != first {
				t.Fatalf("user %d: sampled differently across events", i)
			}
		}
		if first {
			kept++
		}
	}
	if share := float64(kept) / users; share < 0.28 || share > 0.32 {
		t.Fatalf("kept %.3f of users, want about 0.30", share)
	}
}

func TestSamplePaths(t *testing.T) {
	ev := Event{UserID: "", MessageID: "m-1", Properties: []byte(`{"plan":{"tier":"gold"},"n":7,"s":"\u0067old"}`)}
	hashOf := func(v string) Event { return Event{MessageID: "other", UserID: v} }
	cases := []struct {
		path string
		same Event // an event that must sample identically
	}{
		{"userId", Event{MessageID: "m-1"}},             // empty userId falls back to messageId
		{"properties.plan.tier", hashOf("gold")},        // strings hash by content
		{"properties.s", hashOf("gold")},                // escapes decoded
		{"properties.n", hashOf("7")},                   // other values by their text
		{"properties.missing", Event{MessageID: "m-1"}}, // absent falls back to messageId
		{"context.x", Event{MessageID: "m-1"}},          // absent object too
	}
	for _, c := range cases {
		for _, pct := range []float64{10, 30, 50, 70, 90} {
			path := c.path
			ch := mustCompile(t, Spec{Sample: &Sample{Percent: pct, Path: path}})
			ref := mustCompile(t, Spec{Sample: &Sample{Percent: pct, Path: "userId"}})
			if ch.Apply(ev).Keep != ref.Apply(c.same).Keep {
				t.Errorf("path %s at %v%%: sampled unlike %+v", path, pct, c.same)
			}
		}
	}
}
