package config

import (
	"fmt"
	"time"
)

// MinRetention is the shortest retention a workspace or source may set:
// shorter would expire events still on their way to the warehouse.
const MinRetention = time.Hour

// Retentions returns how long each configured source's events are kept:
// the source's own retention, else the workspace's. Sources with neither
// are left out (kept forever); so is everything when no retention is set.
func (c Config) Retentions() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, s := range c.Sources {
		switch {
		case s.Retention.set():
			out[s.Name] = s.Retention.Duration
		case c.Retention.set():
			out[s.Name] = c.Retention.Duration
		}
	}
	return out
}

// ShortestRetention returns the shortest retention the workspace or any
// source sets, and false when none sets one.
func (c Config) ShortestRetention() (time.Duration, bool) {
	shortest, found := c.Retention.Duration, c.Retention.set()
	for _, s := range c.Sources {
		if s.Retention.set() && (!found || s.Retention.Duration < shortest) {
			shortest, found = s.Retention.Duration, true
		}
	}
	return shortest, found
}

// set reports whether the field was given (well-formed or not).
func (d Duration) set() bool { return d.Duration != 0 || d.bad != "" }

// validateRetention accepts an unset retention or one of MinRetention or
// more; the error follows the field's name.
func (d Duration) validateRetention() error {
	if !d.set() {
		return nil
	}
	if d.bad != "" {
		return fmt.Errorf("%q: want a duration like 30d, 90d, 3y or 36h", d.bad)
	}
	if d.Duration < MinRetention {
		return fmt.Errorf("%s: must be at least 1h", d)
	}
	return nil
}
