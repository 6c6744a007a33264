package config

import (
	"fmt"
	"time"
)

// Delivery defaults of every destination.
const (
	DefaultRetryHorizon    = 6 * time.Hour
	DefaultRetryMaxBackoff = time.Minute
	DefaultDedupWindow     = time.Hour
)

// Retry is how long a destination that fails is retried (`retry:` of a
// destination). The zero value takes the defaults.
type Retry struct {
	// Horizon is how long a batch that fails with a retryable error is
	// retried, from its first failure, before its events are dead-lettered.
	// Default 6h.
	Horizon Duration `yaml:"horizon"`
	// MaxBackoff caps the wait between two attempts (exponential from
	// 200ms, with jitter; a longer Retry-After is honoured). Default 1m.
	MaxBackoff Duration `yaml:"maxBackoff"`
}

// Dedup is how the sink skips messageIds it already delivered (`dedup:` of
// a destination). The zero value takes the defaults.
type Dedup struct {
	// Window is how long, in record time, a delivered messageId is
	// remembered per partition of dest.<name>. Default 1h.
	Window Duration `yaml:"window"`
}

// WithDefaults returns r with unset fields at their defaults.
func (r Retry) WithDefaults() Retry {
	if r.Horizon.Duration == 0 && r.Horizon.bad == "" {
		r.Horizon.Duration = DefaultRetryHorizon
	}
	if r.MaxBackoff.Duration == 0 && r.MaxBackoff.bad == "" {
		r.MaxBackoff.Duration = DefaultRetryMaxBackoff
	}
	return r
}

// WithDefaults returns d with unset fields at their defaults.
func (d Dedup) WithDefaults() Dedup {
	if d.Window.Duration == 0 && d.Window.bad == "" {
		d.Window.Duration = DefaultDedupWindow
	}
	return d
}

func (r Retry) validate() error {
	r = r.WithDefaults()
	if err := r.Horizon.validate(); err != nil {
		return fmt.Errorf("retry.horizon %w", err)
	}
	if err := r.MaxBackoff.validate(); err != nil {
		return fmt.Errorf("retry.maxBackoff %w", err)
	}
	if r.MaxBackoff.Duration > r.Horizon.Duration {
		return fmt.Errorf("retry.maxBackoff %s: must not exceed retry.horizon %s", r.MaxBackoff, r.Horizon)
	}
	return nil
}

func (d Dedup) validate() error {
	d = d.WithDefaults()
	if err := d.Window.validate(); err != nil {
		return fmt.Errorf("dedup.window %w", err)
	}
	if d.Window.Duration < time.Second {
		return fmt.Errorf("dedup.window %s: must be at least 1s", d.Window)
	}
	return nil
}
