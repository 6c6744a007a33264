package config

import (
	"strings"
	"testing"
)

func TestSourceSettings(t *testing.T) {
	c, err := Parse([]byte(`
sources:
  - name: web
    writeKey: wk_1
    allowedOrigins: ["https://shop.example", "https://*.example.com", "http://localhost:3000", "http://[::1]:8080"]
    ip: full
  - name: app
    writeKey: wk_2
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sources[0].IP != IPFull || len(c.Sources[0].AllowedOrigins) != 4 || c.Sources[1].IP != "" {
		t.Errorf("sources %+v", c.Sources)
	}
	for yaml, want := range map[string]string{
		`ip: partial`:                             `sources[0].ip "partial"`,
		`allowedOrigins: ["shop.example"]`:        `sources[0].allowedOrigins[0] "shop.example"`,
		`allowedOrigins: ["https://a.example/"]`:  `sources[0].allowedOrigins[0]`,
		`allowedOrigins: ["*"]`:                   `sources[0].allowedOrigins[0] "*"`,
		`allowedOrigins: ["https://a.*.example"]`: `sources[0].allowedOrigins[0]`,
		`rateLimit: -1`:                           `sources[0].rateLimit`,
	} {
		_, err := Parse([]byte("sources:\n  - name: web\n    writeKey: k\n    " + yaml + "\n"))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", yaml, err, want)
		}
	}
}
