package consent

import (
	"errors"
	"fmt"
)

// MaxCategories is how many consent categories a workspace may have.
const MaxCategories = 64

// Mask is a set of categories, one bit each, numbered by Categories.
type Mask uint64

// Covers reports whether every category of want is in m.
func (m Mask) Covers(want Mask) bool { return m&want == want }

// Categories numbers a workspace's consent categories. It is immutable and
// safe for concurrent use.
type Categories struct {
	names []string
	bit   map[string]Mask
}

// NewCategories numbers names in order. It fails on an empty or repeated
// name, or more than MaxCategories names.
func NewCategories(names []string) (*Categories, error) {
	if len(names) > MaxCategories {
		return nil, fmt.Errorf("consent: %d categories: at most %d", len(names), MaxCategories)
	}
	c := &Categories{names: append([]string(nil), names...), bit: make(map[string]Mask, len(names))}
	for i, n := range names {
		if n == "" {
			return nil, errors.New("consent: empty category name")
		}
		if _, dup := c.bit[n]; dup {
			return nil, fmt.Errorf("consent: category %q listed twice", n)
		}
		c.bit[n] = 1 << i
	}
	return c, nil
}

// Mask returns the set of the named categories, as a destination's mapping.
// An empty list is the empty mask (an unmapped destination). A name that is
// not a category is an error: a destination must not silently lose one.
func (c *Categories) Mask(names []string) (Mask, error) {
	var m Mask
	for _, n := range names {
		b, ok := c.bit[n]
		if !ok {
			return 0, fmt.Errorf("consent: %q is not a consent category", n)
		}
		m |= b
	}
	return m, nil
}

// Names returns the categories in m, in configuration order.
func (c *Categories) Names(m Mask) []string {
	var out []string
	for i, n := range c.names {
		if m&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// PrefsFromMap returns the preferences of an already decoded
// categoryPreferences map: unknown when the map is nil, otherwise the
// workspace categories it maps to true.
func (c *Categories) PrefsFromMap(categoryPreferences map[string]bool) Prefs {
	if categoryPreferences == nil {
		return Prefs{}
	}
	return Prefs{Known: true, Granted: c.granted(categoryPreferences)}
}

// granted returns the mask of the categories a preferences map grants.
func (c *Categories) granted(prefs map[string]bool) Mask {
	var m Mask
	for n, ok := range prefs {
		if ok {
			m |= c.bit[n]
		}
	}
	return m
}
