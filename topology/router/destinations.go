package router

import (
	"fmt"

	"github.com/tidwall/gjson"

	"github.com/sluicehq/sluice/processors/consent"
	"github.com/sluicehq/sluice/processors/filter"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// destination is one configured destination, compiled for routing.
type destination struct {
	name     string
	topic    string
	mask     consent.Mask // categories that must all be granted; 0 = unmapped
	filter   *filter.Chain
	counters destCounters
}

// compileDestinations turns the config's destinations into routing form.
func compileDestinations(ws config.Config, names topics.Names, cats *consent.Categories, m *metrics) ([]destination, error) {
	out := make([]destination, 0, len(ws.Destinations))
	for _, d := range ws.Destinations {
		mask, err := cats.Mask(d.Categories)
		if err != nil {
			return nil, fmt.Errorf("router: destination %s: %w", d.Name, err)
		}
		chain, err := filter.Compile(filterSpecs(d.Filters))
		if err != nil {
			return nil, fmt.Errorf("router: destination %s: %w", d.Name, err)
		}
		out = append(out, destination{name: d.Name, topic: names.Destination(d.Name), mask: mask, filter: chain, counters: m.forDestination(d.Name)})
	}
	return out, nil
}

// filterSpecs converts config filters to the filter stage's specs.
func filterSpecs(fs []config.Filter) []filter.Spec {
	specs := make([]filter.Spec, 0, len(fs))
	for _, f := range fs {
		s := filter.Spec{Drop: f.Drop, DropProperties: f.DropProperties, AllowProperties: f.AllowProperties}
		if f.Sample != nil {
			s.Sample = &filter.Sample{Percent: f.Sample.Percent, Path: f.Sample.Path}
		}
		specs = append(specs, s)
	}
	return specs
}

// integrationsAllow applies an event's integrations object to a destination,
// as Segment does: an explicit boolean for the destination's name decides;
// otherwise "All": false excludes it; otherwise it is included.
func integrationsAllow(integrations []byte, name string) bool {
	if len(integrations) == 0 {
		return true
	}
	if v := gjson.GetBytes(integrations, gjson.Escape(name)); v.Exists() {
		// An object (per-destination options) means enabled, like Segment.
		return v.Type != gjson.False
	}
	if v := gjson.GetBytes(integrations, "All"); v.Type == gjson.False {
		return false
	}
	return true
}
