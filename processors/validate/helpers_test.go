package validate

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/schemas/plan"
)

// loadPlan checks a plan given as file name → text.
func loadPlan(tb testing.TB, files map[string]string) *plan.Plan {
	tb.Helper()
	fs := plan.Files{}
	for k, v := range files {
		fs[k] = []byte(v)
	}
	p, err := plan.Check(fs)
	if err != nil {
		tb.Fatalf("plan: %v", err)
	}
	return p
}

// fieldPlan is a plan with one event "E" whose record has one field v of
// the given type (a JSON schema fragment), under the given policy lines.
func fieldPlan(tb testing.TB, typ, policy string) *plan.Plan {
	tb.Helper()
	return loadPlan(tb, map[string]string{
		"plan.yaml": "name: t\nowners: [o]\npolicy: {" + policy + "}\nevents:\n  E:\n    versions: {1: e.avsc}\n",
		"e.avsc":    `{"type":"record","name":"E","fields":[{"name":"v","type":` + typ + `}]}`,
	})
}

func newValidator(tb testing.TB, p *plan.Plan) *Validator {
	tb.Helper()
	v := New()
	if err := v.Put(p, 1); err != nil {
		tb.Fatal(err)
	}
	return v
}

func track(planName, event, props string) Input {
	return Input{Plan: planName, Type: "track", Event: event, Properties: []byte(props)}
}

func kinds(vs []Violation) string {
	var s []string
	for _, v := range vs {
		s = append(s, string(v.Kind)+"@"+v.Path)
	}
	return strings.Join(s, " ")
}

func webPlan(tb testing.TB) *plan.Plan {
	tb.Helper()
	p, err := plan.CheckDir("../../examples/plans/web")
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// orderV2 is a typical Order Completed v2 event of the example web plan:
// 15 properties, three products.
const orderV2 = `{"order_id":"ord_8f3a2c91","checkout_id":"chk_5521","affiliation":"web-store","total":187.45,"subtotal":165.5,"revenue":165.5,"shipping":9.99,"tax":11.96,"discount":0,"coupon":null,"currency":"USD","item_count":4,"shipping_method":"express","completed_at":1714564800123,"products":[{"product_id":"p_1001","sku":"TS-BLK-M","name":"Logo T-Shirt","category":"apparel","brand":"acme","price":24.5,"quantity":2},{"product_id":"p_2040","sku":"MUG-WHT","name":"Coffee Mug","category":"kitchen","brand":null,"price":14,"quantity":1},{"product_id":"p_3307","sku":"HD-GRY-L","name":"Zip Hoodie","category":"apparel","brand":"acme","price":102.5,"quantity":1}]}`
