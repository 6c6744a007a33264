package router_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/schemas/plan"
	"github.com/sluicehq/sluice/topology/planstore"
	"github.com/sluicehq/sluice/topology/topics"
)

var testPlan = plan.Files{
	"plan.yaml": []byte(`name: web
owners: [test@sluice.invalid]
policy:
  unplannedEvents: allow
  unplannedProperties: omit
  typeViolations: block
  blockedToViolations: true
events:
  Signed Up:
    versions:
      1: signed_up.avsc
`),
	"signed_up.avsc": []byte(`{"type":"record","name":"SignedUp","fields":[
  {"name":"plan","type":"string"},
  {"name":"seats","type":["null","long"],"default":null}
]}`),
}

// Events of a planned source are validated: unplanned properties omitted and
// recorded in context.protocols with the plan version, type violations
// blocked and sent to the violations topic.
func TestTrackingPlanEnforced(t *testing.T) {
	e := newEnv(t)
	e.ws.Sources[0].TrackingPlan = "web"
	p, err := plan.Check(testPlan)
	if err != nil {
		t.Fatal(err)
	}
	store, err := planstore.New(planstore.Config{Brokers: []string{e.b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.Publish(t.Context(), p, planstore.PublishOptions{Author: "test"}); err != nil {
		t.Fatal(err)
	}

	extra := event("u1", "m-extra", "Signed Up", `{"consent":{"categoryPreferences":{"analytics":true,"advertising":true}},"page":{"path":"/"}}`)
	extra.Properties = []byte(`{"plan":"pro","email":"a@b.c","seats":3}`)
	bad := event("u2", "m-bad", "Signed Up", grantAll)
	bad.Properties = []byte(`{"plan":42}`)
	e.produce(t, extra, bad)
	e.startRouter(t)

	got := e.readDest(t, map[string]int{"stream": 1})
	v := got["stream"].values["m-extra"]
	var routed struct {
		Context struct {
			Page      struct{ Path string }
			Protocols struct {
				Plan        string
				PlanVersion int
				Omitted     []string
			}
		}
		Properties map[string]any
	}
	if err := json.Unmarshal([]byte(v), &routed); err != nil {
		t.Fatalf("routed value %q: %v", v, err)
	}
	pr := routed.Context.Protocols
	if pr.Plan != "web" || pr.PlanVersion != 1 || len(pr.Omitted) != 1 || pr.Omitted[0] != "properties.email" {
		t.Errorf("context.protocols = %+v, want plan web v1 with properties.email omitted", pr)
	}
	if routed.Context.Page.Path != "/" {
		t.Errorf("context lost what the sender wrote: %s", v)
	}
	if _, ok := routed.Properties["email"]; ok || routed.Properties["plan"] != "pro" {
		t.Errorf("properties = %v, want email omitted and plan kept", routed.Properties)
	}
	if _, ok := got["stream"].byMessage["m-bad"]; ok {
		t.Errorf("a blocked event was routed")
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(e.b.Addr()), kgo.ConsumeTopics(names.Of(topics.Violations)),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var violation string
	for violation == "" && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { violation = string(r.Value) })
	}
	if !strings.Contains(violation, `"m-bad"`) || !strings.Contains(violation, "Datatype-Mismatch") {
		t.Errorf("violations topic holds %q, want m-bad with a Datatype-Mismatch", violation)
	}
}
