package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/topology/topics"
)

func (e *env) get(path string, headers ...string) reply {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.do(req)
}

func TestSDKSettings(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} })
	host := strings.TrimPrefix(e.http.URL, "http://")
	r := e.get("/v1/projects/"+webKey+"/settings", "Origin", "https://shop.example")
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("settings: %d %v %s", r.status, r.header, r.raw)
	}
	var got struct {
		Integrations map[string]struct {
			APIKey   string `json:"apiKey"`
			APIHost  string `json:"apiHost"`
			Protocol string `json:"protocol"`
		} `json:"integrations"`
		Metrics struct {
			SampleRate *float64 `json:"sampleRate"`
		} `json:"metrics"`
		Plan          map[string]any `json:"plan"`
		RemotePlugins []any          `json:"remotePlugins"`
	}
	if err := json.Unmarshal([]byte(r.raw), &got); err != nil {
		t.Fatal(err)
	}
	seg := got.Integrations["Segment.io"]
	if len(got.Integrations) != 1 || seg.APIKey != webKey || seg.APIHost != host+"/v1" || seg.Protocol != "http" ||
		got.Metrics.SampleRate == nil || *got.Metrics.SampleRate != 0 || got.Plan == nil || len(got.Plan) != 0 ||
		got.RemotePlugins == nil || len(got.RemotePlugins) != 0 {
		t.Errorf("settings %s", r.raw)
	}
	// Forwarded headers are believed from trusted proxies only: the test
	// client (127.0.0.1) is not one.
	r = e.get("/v1/projects/"+webKey+"/settings", "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https")
	if !strings.Contains(r.raw, `"apiHost":"`+host+`/v1"`) || !strings.Contains(r.raw, `"protocol":"http"`) {
		t.Errorf("forwarded headers of an untrusted peer believed: %s", r.raw)
	}
	r = e.get("/v1/projects/wk_nope/settings", "Origin", "https://shop.example")
	if r.status != 404 || r.body["code"] != codeUnknownWriteKey || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("unknown key: %d %v %s", r.status, r.header, r.raw)
	}
	// analytics.js's metrics: accepted, dropped.
	if r := e.post("/v1/m", "", []byte(`{"series":[{"type":"Counter","metric":"analytics_js.invoke","value":1,"tags":{}}]}`),
		"Content-Type", "text/plain", "Origin", "https://shop.example"); r.status != 200 ||
		r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("/v1/m: %d %v", r.status, r.header)
	}
	if got := e.recordsBeforeSentinel(e.names.Of(topics.Raw)); len(got) != 0 {
		t.Errorf("metrics reached events.raw: %s", got[0].Value)
	}

	// A configured public URL wins.
	e2 := newEnv(t, func(c *Config) { c.PublicURL = "https://events.example.com/sluice/" })
	r = e2.get("/v1/projects/" + webKey + "/settings")
	if !strings.Contains(r.raw, `"apiHost":"events.example.com/sluice/v1"`) || !strings.Contains(r.raw, `"protocol":"https"`) {
		t.Errorf("public URL not used: %s", r.raw)
	}
}

func TestSDKBaseURLBehindTrustedProxy(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	r := httptest.NewRequest(http.MethodGet, "http://internal:8088/v1/projects/k/settings", nil)
	r.RemoteAddr = "10.1.2.3:5555"
	r.Header.Set("X-Forwarded-Host", "events.example.com")
	r.Header.Set("X-Forwarded-Proto", "https")
	if got := s.baseURL(r).String(); got != "https://events.example.com" {
		t.Errorf("base URL %s", got)
	}
	r.Header.Set("X-Forwarded-Host", "bad host/")
	if got := s.baseURL(r).String(); got != "https://internal:8088" {
		t.Errorf("base URL with a bad forwarded host %s", got)
	}
}

func TestSDKAnalyticsJS(t *testing.T) {
	dir := t.TempDir()
	bundle := "window.analyticsWriteKey='__WRITE_KEY__';/* the bundle */\n"
	if err := os.WriteFile(filepath.Join(dir, "standalone.js"), []byte(bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "auto-track.bundle.abc.js"), []byte("chunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.AnalyticsJSDir = dir })
	r := e.get("/analytics.js/v1/" + webKey + "/analytics.min.js")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/javascript") ||
		!strings.HasSuffix(r.raw, "\n"+bundle) || !strings.Contains(r.raw, `a._cdn="`+e.http.URL+`"`) {
		t.Errorf("analytics.min.js: %d %v %q", r.status, r.header, r.raw)
	}
	if r := e.get("/analytics.js/v1/wk_nope/analytics.min.js"); r.status != 404 {
		t.Errorf("unknown key: %d", r.status)
	}
	if r := e.get("/analytics-next/bundles/auto-track.bundle.abc.js"); r.status != 200 || r.raw != "chunk" ||
		!strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Errorf("chunk: %d %v %q", r.status, r.header, r.raw)
	}
	for _, bad := range []string{"missing.bundle.js", "..%2fsecret.js", ".hidden.js", "standalone.js.map"} {
		if r := e.get("/analytics-next/bundles/" + bad); r.status != 404 {
			t.Errorf("%s: %d %s", bad, r.status, r.raw)
		}
	}
	// Without the bundle the answer says how to get it.
	e2 := newEnv(t, func(c *Config) { c.AnalyticsJSDir = filepath.Join(dir, "none") })
	if r := e2.get("/analytics.js/v1/" + webKey + "/analytics.min.js"); r.status != 404 || !strings.Contains(r.raw, "make analyticsjs") {
		t.Errorf("missing bundle: %d %s", r.status, r.raw)
	}
}

// TestCORSAllowedOrigins: with allowedOrigins on every source, a preflight
// is answered for the origins some source allows, and a request from an
// origin its source does not allow is refused without CORS headers.
func TestCORSAllowedOrigins(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Workspace.Sources[0].AllowedOrigins = []string{"https://shop.example", "https://*.example.com"}
		c.Workspace.Sources[1].AllowedOrigins = []string{"http://localhost:3000"}
		c.Workspace.Sources[2].AllowedOrigins = []string{"http://localhost:3000"}
	})
	preflight := func(origin string) reply {
		req, _ := http.NewRequest(http.MethodOptions, e.http.URL+"/v1/t", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-custom")
		return e.do(req)
	}
	for origin, allowed := range map[string]bool{
		"https://shop.example": true, "https://a.b.example.com": true, "http://localhost:3000": true,
		"https://example.com": false, "http://a.example.com": false, "https://evil.test": false, "https://shop.example.evil": false,
	} {
		r := preflight(origin)
		if got := r.header.Get("Access-Control-Allow-Origin") == origin; got != allowed || r.status != 204 {
			t.Errorf("preflight from %s: %d %v, want allowed=%v", origin, r.status, r.header, allowed)
		}
		if allowed && (r.header.Get("Access-Control-Allow-Headers") != "content-type,x-custom" ||
			!strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin")) {
			t.Errorf("preflight from %s: %v", origin, r.header)
		}
	}
	track := `{"userId":"u","event":"e"}`
	if r := e.post("/v1/track", webKey, []byte(track), "Origin", "https://shop.example"); r.status != 200 ||
		r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("allowed origin: %d %v", r.status, r.header)
	}
	// localhost:3000 is allowed by another source, not by web's key.
	for _, origin := range []string{"http://localhost:3000", "https://evil.test"} {
		r := e.post("/v1/track", webKey, []byte(track), "Origin", origin)
		if r.status != 403 || r.body["code"] != codeOriginNotAllowed || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("origin %s: %d %v %s", origin, r.status, r.header, r.raw)
		}
	}
	r := e.post("/v1/t", "", []byte(`{"writeKey":"wk_web_123","userId":"u"}`), "Origin", "https://evil.test")
	if r.status != 403 {
		t.Errorf("bad input from a refused origin, key in the body: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/track", webKey, []byte(track)); r.status != 200 {
		t.Errorf("no Origin (a server): %d", r.status)
	}
	if got := len(e.recordsBeforeSentinel(e.names.Of(topics.Raw))); got != 2 {
		t.Errorf("%d events stored, want 2", got)
	}
	if got := e.metric("sluice_api_deadletters_total", nil); got != 0 {
		t.Errorf("dead letters %v for refused origins", got)
	}
}

func TestIPPolicy(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Workspace.Sources[1].IP = "full"
		c.Workspace.Sources[2].IP = "none"
		c.Workspace.Sources[2].RateLimit = 0
	})
	for _, tc := range []struct {
		key, body, xff, want string // want "": no ip
	}{
		{webKey, `{"userId":"u","event":"e","messageId":"web"}`, "", "127.0.0.0"},
		{appKey, `{"userId":"u","event":"e","messageId":"app"}`, "", "127.0.0.1"},
		{slowKey, `{"userId":"u","event":"e","messageId":"slow"}`, "", ""},
		{webKey, `{"userId":"u","event":"e","messageId":"sent","context":{"ip":"198.51.100.23"}}`, "", "198.51.100.23"},
		{webKey, `{"userId":"u","event":"e","messageId":"empty","context":{"ip":"","locale":"de"}}`, "", "127.0.0.0"},
		// The test client is no trusted proxy: X-Forwarded-For is not believed.
		{appKey, `{"userId":"u","event":"e","messageId":"xff"}`, "203.0.113.9", "127.0.0.1"},
	} {
		if r := e.post("/v1/track", tc.key, []byte(tc.body), "X-Forwarded-For", tc.xff); r.status != 200 {
			t.Fatalf("%s: %d %s", tc.body, r.status, r.raw)
		}
		defer func(id, want string) {
			t.Helper()
			for _, rec := range e.recordsBeforeSentinel(e.names.Of(topics.Raw)) {
				v := decodeValue(t, rec)
				if v["messageId"] != id {
					continue
				}
				ctx, _ := v["context"].(map[string]any)
				if got, _ := ctx["ip"].(string); got != want {
					t.Errorf("%s: context.ip %q, want %q (context %v)", id, got, want, ctx)
				}
				return
			}
			t.Errorf("%s not stored", id)
		}(strings.Split(strings.Split(tc.body, `"messageId":"`)[1], `"`)[0], tc.want)
	}
}

func TestClientAddr(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	for _, tc := range []struct{ peer, xff, want string }{
		{"192.0.2.1:1234", "", "192.0.2.1"},
		{"192.0.2.1:1234", "203.0.113.9", "192.0.2.1"}, // untrusted peer: header ignored
		{"10.0.0.5:1234", "203.0.113.9", "203.0.113.9"},
		{"10.0.0.5:1234", "198.51.100.1, 203.0.113.9, 10.0.0.7", "203.0.113.9"}, // the client may write the first
		{"10.0.0.5:1234", "", "10.0.0.5"},
		{"10.0.0.5:1234", "garbage, 10.0.0.8", "10.0.0.8"},
		{"[fd00::1]:1234", "2001:db8::7", "2001:db8::7"},
		{"[::ffff:192.0.2.4]:1234", "", "192.0.2.4"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/v1/t", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got, ok := s.clientAddr(r); !ok || got.String() != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %v, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	for addr, want := range map[string]string{
		"203.0.113.77": "203.0.113.0", "2001:db8:1234:5678::1": "2001:db8:1234::", "::1": "::",
	} {
		if got := recordedIP(ipTruncated, netip.MustParseAddr(addr)); got != want {
			t.Errorf("truncated %s: %s, want %s", addr, got, want)
		}
	}
}
