package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Spec is one destination filter; exactly one field is set. It mirrors
// topology/config.Filter, which topology converts.
type Spec struct {
	// Sample keeps a percentage of events.
	Sample *Sample
	// Drop drops events for which this expression holds.
	Drop string
	// DropProperties removes these properties (names or dotted paths).
	DropProperties []string
	// AllowProperties keeps only these properties (names or dotted paths).
	AllowProperties []string
}

// Sample keeps Percent (0–100) of events, chosen by hashing the value at
// Path, or the messageId when Path is empty.
type Sample struct {
	Percent float64
	Path    string
}

// kind orders filters as Segment runs them.
type kind uint8

const (
	kindSample kind = iota
	kindDrop
	kindDropProperties
	kindAllowProperties
)

func (s Spec) kind() (kind, error) {
	var kinds []kind
	if s.Sample != nil {
		kinds = append(kinds, kindSample)
	}
	if s.Drop != "" {
		kinds = append(kinds, kindDrop)
	}
	if s.DropProperties != nil {
		kinds = append(kinds, kindDropProperties)
	}
	if s.AllowProperties != nil {
		kinds = append(kinds, kindAllowProperties)
	}
	if len(kinds) != 1 {
		return 0, errors.New("want exactly one of sample, drop, dropProperties, allowProperties")
	}
	return kinds[0], nil
}

// compiled is one filter ready to run.
type compiled struct {
	index  int // position in the specs given to Compile
	kind   kind
	sample sampler
	drop   *expression
	paths  *pathTree
}

// Chain is a destination's compiled filters. It is immutable and safe for
// concurrent use.
type Chain struct {
	filters []compiled
}

// Compile checks and compiles a destination's filters: expressions are
// compiled, paths parsed, percentages checked. An error names the filter.
// An empty list gives a Chain that keeps everything.
func Compile(specs []Spec) (*Chain, error) {
	c := &Chain{}
	for i, s := range specs {
		k, err := s.kind()
		if err != nil {
			return nil, fmt.Errorf("filter[%d]: %w", i, err)
		}
		f := compiled{index: i, kind: k}
		switch k {
		case kindSample:
			f.sample, err = newSampler(*s.Sample)
		case kindDrop:
			f.drop, err = compileExpression(s.Drop)
		case kindDropProperties:
			f.paths, err = newPathTree(s.DropProperties)
		case kindAllowProperties:
			f.paths, err = newPathTree(s.AllowProperties)
		}
		if err != nil {
			return nil, fmt.Errorf("filter[%d]: %w", i, err)
		}
		c.filters = append(c.filters, f)
	}
	slices.SortStableFunc(c.filters, func(a, b compiled) int { return int(a.kind) - int(b.kind) })
	return c, nil
}

// splitPath splits a dotted path, refusing empty segments.
func splitPath(p string) ([]string, error) {
	parts := strings.Split(p, ".")
	for _, s := range parts {
		if s == "" {
			return nil, fmt.Errorf("path %q: empty segment", p)
		}
	}
	return parts, nil
}
