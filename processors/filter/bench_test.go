package filter

import "testing"

// benchEvent is a track call with 12 properties, as in sluice bench.
var benchEvent = Event{
	Type: "track", Event: "Product Viewed", UserID: "0b4c6c5e-4f3a-4d2b-9a55-2f1e3d4c5b6a", MessageID: "3f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
	Properties: []byte(`{"product_id":"507f1f77bcf86cd799439011","sku":"G-32","category":"Games","name":"Monopoly: 3rd Edition",` +
		`"brand":"Hasbro","variant":"200 pieces","price":18.99,"quantity":1,"coupon":"MAYDEALS","currency":"USD",` +
		`"email":"someone@example.com","phone":"+33 1 23 45 67 89"}`),
	Context: []byte(`{"library":{"name":"analytics.js","version":"next-1.70.0"},"ip":"203.0.113.9","locale":"en-GB"}`),
}

func BenchmarkChain(b *testing.B) {
	cases := []struct {
		name  string
		specs []Spec
	}{
		{"design-example", []Spec{{Drop: `event == "Internal Test"`}, {DropProperties: []string{"email", "phone"}}}},
		{"sample", []Spec{{Sample: &Sample{Percent: 50, Path: "userId"}}}},
		{"drop-on-event", []Spec{{Drop: `event == "Internal Test" || type == "identify"`}}},
		{"drop-on-properties", []Spec{{Drop: `properties.price > 1000`}}},
		{"drop-properties", []Spec{{DropProperties: []string{"email", "phone"}}}},
		{"allow-properties", []Spec{{AllowProperties: []string{"product_id", "price", "currency"}}}},
		{"all-four", []Spec{{Sample: &Sample{Percent: 100, Path: "userId"}}, {Drop: `event == "Internal Test"`},
			{DropProperties: []string{"email", "phone"}}, {AllowProperties: []string{"product_id", "price", "currency", "email"}}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ch := mustCompile(b, c.specs...)
			b.ReportAllocs()
			for b.Loop() {
				if r := ch.Apply(benchEvent); r.Err != nil {
					b.Fatal(r.Err)
				}
			}
		})
	}
}

func BenchmarkChainParallel(b *testing.B) {
	ch := mustCompile(b, Spec{Drop: `event == "Internal Test"`}, Spec{DropProperties: []string{"email", "phone"}})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ch.Apply(benchEvent)
		}
	})
}
