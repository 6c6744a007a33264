package config_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/config"
)

func TestParseDurationYearsAndDays(t *testing.T) {
	const day = 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"3y":    3 * 365 * day,
		"1y30d": 395 * day,
		"1y12h": 365*day + 12*time.Hour,
		"30d":   30 * day,
		"1d12h": 36 * time.Hour,
		"36h":   36 * time.Hour,
		" 90d ": 90 * day,
		"292y":  292 * 365 * day,
	} {
		got, err := config.ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"1.5y", "y", "-1y", "1d1y", "y30d", "293y", "200000d", "4294967296d", "1y-1h"} {
		if got, err := config.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, got)
		}
	}
}

func TestDurationStringWritesYearsAndDays(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3 * config.Year:          "3y",
		400 * config.Day:         "400d",
		config.Year + config.Day: "366d",
		36 * time.Hour:           "36h0m0s",
	} {
		if got := config.D(d).String(); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
		if back, err := config.ParseDuration(want); err != nil || back != d {
			t.Errorf("%q parses to %v, %v; want %v", want, back, err, d)
		}
	}
}

func TestRetentions(t *testing.T) {
	c, err := config.Parse([]byte(`
retention: 90d
sources:
  - {name: web, writeKey: k1, retention: 30d}
  - {name: ios, writeKey: k2}
  - {name: backend, writeKey: k3, retention: 3y}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"web": 30 * config.Day, "ios": 90 * config.Day, "backend": 3 * config.Year}
	if got := c.Retentions(); !maps.Equal(got, want) {
		t.Errorf("Retentions() = %v, want %v", got, want)
	}
	if d, ok := c.ShortestRetention(); !ok || d != 30*config.Day {
		t.Errorf("ShortestRetention() = %v, %v; want 30d", d, ok)
	}

	// Without a workspace retention, a source without its own keeps forever.
	c, err = config.Parse([]byte("sources:\n  - {name: web, writeKey: k1, retention: 36h}\n  - {name: ios, writeKey: k2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Retentions(); !maps.Equal(got, map[string]time.Duration{"web": 36 * time.Hour}) {
		t.Errorf("Retentions() = %v, want web only", got)
	}

	// A workspace retention counts even when every source overrides it.
	c = config.Config{Retention: config.D(7 * config.Day), Sources: []config.Source{{Name: "web", Retention: config.D(30 * config.Day)}}}
	if d, ok := c.ShortestRetention(); !ok || d != 7*config.Day {
		t.Errorf("ShortestRetention() = %v, %v; want 7d", d, ok)
	}

	// No retention anywhere: everything is kept forever.
	c, err = config.Parse([]byte("sources:\n  - {name: web, writeKey: k1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Retentions(); len(got) != 0 {
		t.Errorf("Retentions() = %v, want none", got)
	}
	if d, ok := c.ShortestRetention(); ok {
		t.Errorf("ShortestRetention() = %v, want none", d)
	}
}

func TestRetentionErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"retention: 30m\n", "config: retention 30m0s: must be at least 1h"},
		{"retention: soon\n", `config: retention "soon": want a duration like 30d, 90d, 3y or 36h`},
		{"sources:\n  - {name: web, writeKey: k, retention: 59m}\n", "config: sources[web].retention 59m0s: must be at least 1h"},
		{"sources:\n  - {name: web, writeKey: k, retention: -30d}\n", `config: sources[web].retention "-30d": want a duration like 30d, 90d, 3y or 36h`},
		{"sources:\n  - {name: web, writeKey: k, retention: 1.5y}\n", `config: sources[web].retention "1.5y": want a duration like 30d, 90d, 3y or 36h`},
		{"sources:\n  - {name: web, writeKey: k, retention: -2h}\n", "config: sources[web].retention -2h0m0s: must be at least 1h"},
	} {
		_, err := config.Parse([]byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
	// One hour is the shortest retention accepted.
	if _, err := config.Parse([]byte("retention: 1h\n")); err != nil {
		t.Errorf("retention 1h: %v", err)
	}
}

// The streams keep events no longer than the shortest retention or
// topics.streamRetention, so each must outlast every destination's retry
// horizon: an event waiting out an outage must not expire undelivered.
func TestRetentionOutlastsRetries(t *testing.T) {
	const dest = "destinations:\n  - {name: hook, type: webhook, settings: {url: 'http://x'}%s}\n"
	for _, tc := range []struct{ yaml, want string }{
		{"retention: 6h\n" + fmt.Sprintf(dest, ""),
			"config: retention 6h0m0s: must exceed destinations[hook].retry.horizon 6h0m0s: the streams keep events no longer than the shortest retention, and events waiting out an outage would expire undelivered"},
		{"sources:\n  - {name: web, writeKey: k, retention: 2h}\n" + fmt.Sprintf(dest, ", retry: {horizon: 3h}"),
			"config: retention 2h0m0s: must exceed destinations[hook].retry.horizon 3h0m0s: the streams keep events no longer than the shortest retention, and events waiting out an outage would expire undelivered"},
		{"topics: {streamRetention: 5h}\n" + fmt.Sprintf(dest, ""),
			"config: topics.streamRetention 5h0m0s: must exceed destinations[hook].retry.horizon 6h0m0s, or events waiting out an outage expire undelivered"},
	} {
		_, err := config.Parse([]byte(tc.yaml))
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s\n got %v\nwant %s", tc.yaml, err, tc.want)
		}
	}
	if _, err := config.Parse([]byte("retention: 2h\n" + fmt.Sprintf(dest, ", retry: {horizon: 1h}"))); err != nil {
		t.Errorf("retention 2h, horizon 1h: %v", err)
	}
}

// ParseDuration reads durations from config files: it never panics, and
// what it accepts is written back by Duration.String to the same length.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"3y", "1y30d", "7d", "1d12h", "168h", "-5m", "292y", "293y", "1.5y", "4294967295d", "0d", "y", "1d1y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := config.ParseDuration(s)
		if err != nil {
			return
		}
		back, err := config.ParseDuration(config.D(d).String())
		if err != nil || back != d {
			t.Fatalf("%q → %v → %q → %v, %v", s, d, config.D(d).String(), back, err)
		}
	})
}
