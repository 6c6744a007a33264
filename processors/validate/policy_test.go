package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
)

// policyPlan has event "E" v1 and v2 and an identify schema. policy is the
// plan-wide policy (YAML flow mapping body); eventPolicy overrides E's.
func policyPlan(t *testing.T, policy, eventPolicy string) *plan.Plan {
	t.Helper()
	rec := func(name, extra string) string {
		return `{"type":"record","name":"` + name + `","fields":[
			{"name":"a","type":"int"},
			{"name":"b","type":["null","string"],"default":null},
			{"name":"tags","type":{"type":"array","items":"string"},"default":[]},
			{"name":"attrs","type":{"type":"map","values":"long"},"default":{}},
			{"name":"item","type":["null",{"type":"record","name":"Item","fields":[{"name":"id","type":"string"}]}],"default":null}` + extra + `]}`
	}
	return loadPlan(t, map[string]string{
		"plan.yaml": "name: p\nowners: [o]\npolicy: {" + policy + "}\nidentify: {schema: traits.avsc}\n" +
			"events:\n  E:\n    policy: {" + eventPolicy + "}\n    versions: {1: e1.avsc, 2: e2.avsc}\n",
		"e1.avsc":     rec("E1", ""),
		"e2.avsc":     rec("E2", `,{"name":"c","type":"boolean"}`),
		"traits.avsc": `{"type":"record","name":"T","fields":[{"name":"email","type":"string"}]}`,
	})
}

func TestPolicyOutcomes(t *testing.T) {
	v1 := []byte("1")
	tests := []struct {
		name, policy, eventPolicy string
		in                        Input
		outcome                   Outcome
		toViolations              bool
		violations                string
		props                     string // expected output; "" = input unchanged
		omitted                   string
	}{
		{name: "valid", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1}`)},
			outcome: Pass},
		{name: "no plan", in: Input{Plan: "-", Type: "track", Event: "X"}, outcome: Pass},
		{name: "unknown plan", in: Input{Plan: "nope", Type: "track", Event: "E"},
			outcome: Blocked, toViolations: true, violations: "Unknown-Plan@plan"},
		{name: "alias passes", in: Input{Type: "alias"}, outcome: Pass},
		{name: "page without schema passes", in: Input{Type: "page", Properties: []byte(`{"x":1}`)}, outcome: Pass},
		{name: "unplanned event allowed", in: Input{Type: "track", Event: "X", Properties: []byte(`{}`)},
			outcome: Pass, violations: "Unplanned-Event@event"},
		{name: "unplanned event blocked", policy: "unplannedEvents: block", in: Input{Type: "track", Event: "X"},
			outcome: Blocked, toViolations: true, violations: "Unplanned-Event@event"},
		{name: "blocked event dropped", policy: "unplannedEvents: block, blockedToViolations: false", in: Input{Type: "track", Event: "X"},
			outcome: Blocked, toViolations: false, violations: "Unplanned-Event@event"},
		{name: "unplanned version", policy: "unplannedEvents: block", in: Input{Type: "track", Event: "E", EventVersion: []byte("3"), Properties: []byte(`{"a":1}`)},
			outcome: Blocked, toViolations: true, violations: "Unplanned-Event@context.protocols.event_version"},
		{name: "missing version is latest", in: Input{Type: "track", Event: "E", Properties: []byte(`{"a":1}`)},
			outcome: Pass, violations: "Required-Missing@properties.c"},
		{name: "null version is latest", in: Input{Type: "track", Event: "E", EventVersion: []byte("null"), Properties: []byte(`{"a":1}`)},
			outcome: Pass, violations: "Required-Missing@properties.c"},
		{name: "string version", in: Input{Type: "track", Event: "E", EventVersion: []byte(`"1"`), Properties: []byte(`{"a":1,"c":true}`)},
			outcome: Pass, violations: "Datatype-Mismatch@context.protocols.event_version"},
		{name: "fractional version blocked", policy: "typeViolations: block", in: Input{Type: "track", Event: "E", EventVersion: []byte(`1.5`), Properties: []byte(`{"a":1,"c":true}`)},
			outcome: Blocked, toViolations: true, violations: "Datatype-Mismatch@context.protocols.event_version"},
		{name: "extra allowed", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1,"x":2}`)},
			outcome: Pass, violations: "Additional-Properties@properties.x"},
		{name: "extra omitted", policy: "unplannedProperties: omit", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"x":0, "a":1 ,"y":[1,{"z":2}],"b":"s", "w":null}`)},
			outcome: Omitted, violations: "Additional-Properties@properties.x Additional-Properties@properties.y Additional-Properties@properties.w",
			props: `{"a":1 ,"b":"s"}`, omitted: "properties.x properties.y properties.w"},
		{name: "nested extra omitted", policy: "unplannedProperties: omit", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1,"item":{"x":1,"id":"i","y":2}}`)},
			outcome: Omitted, violations: "Additional-Properties@properties.item.x Additional-Properties@properties.item.y",
			props: `{"a":1,"item":{"id":"i"}}`, omitted: "properties.item.x properties.item.y"},
		{name: "only extras omitted", policy: "unplannedProperties: omit", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1,"item":{"x":1}}`)},
			outcome: Omitted, violations: "Additional-Properties@properties.item.x Required-Missing@properties.item.id",
			props: `{"a":1,"item":{}}`, omitted: "properties.item.x"},
		{name: "extra blocked", policy: "unplannedProperties: block", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1,"x":2}`)},
			outcome: Blocked, toViolations: true, violations: "Additional-Properties@properties.x"},
		{name: "type allowed", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":"1"}`)},
			outcome: Pass, violations: "Datatype-Mismatch@properties.a"},
		{name: "type omitted", policy: "typeViolations: omit", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1,"b":2,"tags":["x",3,"y",4],"attrs":{"k":"v","n":1}}`)},
			outcome: Omitted, violations: "Datatype-Mismatch@properties.b Datatype-Mismatch@properties.tags[1] Datatype-Mismatch@properties.tags[3] Datatype-Mismatch@properties.attrs.k",
			props: `{"a":1,"tags":["x","y"],"attrs":{"n":1}}`, omitted: "properties.b properties.tags[1] properties.tags[3] properties.attrs.k"},
		{name: "required missing under omit passes", policy: "typeViolations: omit", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"b":"x"}`)},
			outcome: Pass, violations: "Required-Missing@properties.a"},
		{name: "type blocked", policy: "typeViolations: block", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1.5}`)},
			outcome: Blocked, toViolations: true, violations: "Datatype-Mismatch@properties.a"},
		{name: "event override blocks", eventPolicy: "typeViolations: block", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{}`)},
			outcome: Blocked, toViolations: true, violations: "Required-Missing@properties.a"},
		{name: "event override allows", policy: "unplannedProperties: block", eventPolicy: "unplannedProperties: allow", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`{"a":1,"x":1}`)},
			outcome: Pass, violations: "Additional-Properties@properties.x"},
		{name: "properties not an object, omitted", policy: "typeViolations: omit", in: Input{Type: "track", Event: "E", EventVersion: v1, Properties: []byte(`[1]`)},
			outcome: Omitted, violations: "Datatype-Mismatch@properties", props: `{}`, omitted: "properties"},
		{name: "identify traits", policy: "typeViolations: block", in: Input{Type: "identify", Properties: []byte(`{"email":7}`)},
			outcome: Blocked, toViolations: true, violations: "Datatype-Mismatch@traits.email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newValidator(t, policyPlan(t, tt.policy, tt.eventPolicy))
			in := tt.in
			if in.Plan == "" {
				in.Plan = "p"
			} else if in.Plan == "-" {
				in.Plan = ""
			}
			var r Result
			if err := v.Validate(in, &r); err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tt.outcome || r.ToViolations != tt.toViolations {
				t.Errorf("outcome %v toViolations %v, want %v %v", r.Outcome, r.ToViolations, tt.outcome, tt.toViolations)
			}
			if got := kinds(r.Violations); got != tt.violations {
				t.Errorf("violations\n got %s\nwant %s", got, tt.violations)
			}
			wantProps := tt.props
			if wantProps == "" {
				wantProps = string(in.Properties)
			}
			if string(r.Properties) != wantProps {
				t.Errorf("properties %s, want %s", r.Properties, wantProps)
			}
			if tt.props != "" && !json.Valid(r.Properties) {
				t.Errorf("rewritten properties are not JSON: %s", r.Properties)
			}
			if got := strings.Join(r.Omitted, " "); got != tt.omitted {
				t.Errorf("omitted %q, want %q", got, tt.omitted)
			}
		})
	}
}

// TestValues: the typed values of the example Order Completed v2 event.
func TestValues(t *testing.T) {
	v := newValidator(t, webPlan(t))
	var r Result
	in := track("web", "Order Completed", strings.Replace(orderV2, `1714564800123`, `"2024-05-01T12:00:00.123Z"`, 1))
	if err := v.Validate(in, &r); err != nil {
		t.Fatal(err)
	}
	if r.Outcome != Pass || len(r.Violations) != 0 {
		t.Fatalf("%v %s", r.Outcome, kinds(r.Violations))
	}
	if r.Schema.Version != 2 || len(r.Values) != len(r.Schema.Root.Fields) {
		t.Fatalf("schema v%d, %d values", r.Schema.Version, len(r.Values))
	}
	byName := map[string]Value{}
	for i, val := range r.Values {
		if val.Field != r.Schema.Root.Fields[i] {
			t.Fatalf("value %d is not in field order", i)
		}
		byName[val.Field.Name] = val
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: %+v", name, byName[name])
		}
	}
	check("order_id", string(byName["order_id"].Raw) == `"ord_8f3a2c91"` && byName["order_id"].Present)
	check("total", byName["total"].Float == 187.45)
	check("item_count", byName["item_count"].Int == 4)
	check("currency", byName["currency"].Int == 0)
	check("shipping_method", byName["shipping_method"].Int == 1)
	check("completed_at", byName["completed_at"].Int == 1714564800123)
	check("coupon", byName["coupon"].Type == nil && string(byName["coupon"].Raw) == "null")
	check("products", byName["products"].Type.Kind == plan.Array && strings.HasPrefix(string(byName["products"].Raw), "[{"))
	check("affiliation", byName["affiliation"].Type.Kind == plan.String)

	// Absent fields carry their defaults.
	if err := v.Validate(track("web", "Order Completed", `{"order_id":"o","total":1,"subtotal":1,"revenue":1,"currency":"EUR","item_count":1,"completed_at":1,"products":[]}`), &r); err != nil {
		t.Fatal(err)
	}
	for _, val := range r.Values {
		if val.Field.Name == "shipping" && (val.Present || string(val.Raw) != "0" || val.Float != 0) {
			t.Errorf("shipping default: %+v", val)
		}
		if val.Field.Name == "shipping_method" && (val.Present || val.Int != 0 || string(val.Raw) != `"standard"`) {
			t.Errorf("shipping_method default: %+v", val)
		}
	}
}
