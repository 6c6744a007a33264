package validate

import (
	"strings"
	"testing"

	"github.com/linkedin/goavro/v2"
)

// BenchmarkValidate measures the stage on the typical event: Order Completed
// v2 of the example plan, 15 properties and an array of three products.
func BenchmarkValidate(b *testing.B) {
	p := webPlan(b)
	v := newValidator(b, p)
	iso := strings.Replace(orderV2, `1714564800123`, `"2024-05-01T12:00:00.123Z"`, 1)
	extra := strings.Replace(orderV2, `"coupon":null,`, `"coupon":null,"campaign":"spring","ab":{"x":1},`, 1)
	cases := []struct {
		name  string
		props string
	}{
		{"typical", orderV2},
		{"iso-timestamp", iso},
		{"omit-unplanned", extra}, // the plan omits unplanned properties
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := track("web", "Order Completed", c.props)
			var r Result
			if err := v.Validate(in, &r); err != nil {
				b.Fatal(err)
			}
			if c.name != "omit-unplanned" && (r.Outcome != Pass || len(r.Violations) > 0) {
				b.Fatalf("%v %s", r.Outcome, kinds(r.Violations))
			}
			b.SetBytes(int64(len(c.props)))
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Validate(in, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGoavroNativeFromTextual is the baseline: goavro decoding the same
// event with the same schema (standard JSON unions).
func BenchmarkGoavroNativeFromTextual(b *testing.B) {
	p := webPlan(b)
	s := p.Lookup("track", "Order Completed", 2)
	codec, err := goavro.NewCodecForStandardJSONFull(s.Canonical)
	if err != nil {
		b.Fatal(err)
	}
	in := []byte(orderV2)
	if _, _, err := codec.NativeFromTextual(in); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := codec.NativeFromTextual(in); err != nil {
			b.Fatal(err)
		}
	}
}
