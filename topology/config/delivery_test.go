package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/config"
)

func TestDestinationRetryAndDedup(t *testing.T) {
	const head = "destinations:\n  - name: crm\n    type: webhook\n    settings: {url: https://crm.example.com/e}\n"
	c, err := config.Parse([]byte(head))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Destinations[0]
	if r := d.Retry.WithDefaults(); r.Horizon.Duration != 6*time.Hour || r.MaxBackoff.Duration != time.Minute {
		t.Errorf("default retry %+v, want 6h and 1m", r)
	}
	if w := d.Dedup.WithDefaults().Window.Duration; w != time.Hour {
		t.Errorf("default dedup window %v, want 1h", w)
	}
	c, err = config.Parse([]byte(head + "    retry: {horizon: 2d, maxBackoff: 30s}\n    dedup: {window: 3h}\n"))
	if err != nil {
		t.Fatal(err)
	}
	d = c.Destinations[0]
	if d.Retry.Horizon.Duration != 48*time.Hour || d.Retry.MaxBackoff.Duration != 30*time.Second || d.Dedup.Window.Duration != 3*time.Hour {
		t.Errorf("parsed %+v %+v", d.Retry, d.Dedup)
	}
	for yaml, want := range map[string]string{
		"    retry: {horizon: soon}\n":               "destinations[0].retry.horizon",
		"    retry: {maxBackoff: -1s}\n":             "destinations[0].retry.maxBackoff",
		"    retry: {horizon: 1m, maxBackoff: 2m}\n": "destinations[0].retry.maxBackoff 2m0s: must not exceed retry.horizon",
		"    dedup: {window: 500ms}\n":               "destinations[0].dedup.window",
		"    retry: {horizon: 1h, attempts: 3}\n":    "attempts",
	} {
		_, err := config.Parse([]byte(head + yaml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want one naming %s", yaml, err, want)
		}
	}
}
