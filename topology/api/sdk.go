package api

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// The SDK endpoints: what analytics.js needs besides the tracking routes to
// run against sluice when Segment's snippet names sluice's host instead of
// Segment's CDN (docs/tracking-api.md):
//
//	GET  /analytics.js/v1/{writeKey}/analytics.min.js  the @segment/analytics-next bundle
//	GET  /analytics-next/bundles/{file}                its lazily loaded chunks
//	GET  /v1/projects/{writeKey}/settings              the source's settings
//	POST /v1/m                                         its metrics, discarded

// AnalyticsJSVersion is the @segment/analytics-next release whose standalone
// bundle sluice serves; the Makefile fetches it (analyticsjs target).
const AnalyticsJSVersion = "1.84.3"

// AnalyticsJSDirEnv names a directory holding the bundle's files when they
// are not where `make deps` puts them (DefaultAnalyticsJSDir).
const AnalyticsJSDirEnv = "SLUICE_ANALYTICS_JS_DIR"

// DefaultAnalyticsJSDir is Config.AnalyticsJSDir's default: $SLUICE_ANALYTICS_JS_DIR,
// else $HOME/.cache/sluice/analytics-next-<AnalyticsJSVersion>.
func DefaultAnalyticsJSDir() string {
	if d := os.Getenv(AnalyticsJSDirEnv); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "sluice", "analytics-next-"+AnalyticsJSVersion)
}

const codeUnknownWriteKey = "unknown_write_key"

// baseURL is where browsers reach this API: Config.PublicURL, else the
// request's scheme and Host (X-Forwarded-Proto and X-Forwarded-Host
// believed only from TrustedProxies). No trailing slash.
func (s *Server) baseURL(r *http.Request) *url.URL {
	if s.publicURL != nil {
		return s.publicURL
	}
	u := &url.URL{Scheme: "http", Host: r.Host}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if peer, ok := s.peerAddr(r); ok && s.trusted(peer) {
		if p := strings.ToLower(strings.TrimSpace(firstHop(r.Header.Get("X-Forwarded-Proto")))); p == "http" || p == "https" {
			u.Scheme = p
		}
		if h := strings.TrimSpace(firstHop(r.Header.Get("X-Forwarded-Host"))); validHost(h) {
			u.Host = h
		}
	}
	if !validHost(u.Host) {
		u.Host = "localhost"
	}
	return u
}

func firstHop(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return first
}

var hostRE = regexp.MustCompile(`^([a-zA-Z0-9.-]+|\[[0-9a-fA-F:.]+\])(:[0-9]{1,5})?$`)

func validHost(h string) bool { return len(h) <= 255 && hostRE.MatchString(h) }

// parsePublicURL checks Config.PublicURL.
func parsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !validHost(u.Host) ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("api: PublicURL " + raw + ": want http(s)://host[:port][/path], such as https://events.example.com")
	}
	return u, nil
}

// settings answers analytics.js's first request: the source's settings,
// telling its Segment.io integration to send to this API.
func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, OPTIONS")
		writeError(w, newError(http.StatusMethodNotAllowed, codeMethod, "use GET"))
		return
	}
	key := r.PathValue("writeKey")
	src, ok := s.sources[key]
	if !ok {
		writeError(w, newError(http.StatusNotFound, codeUnknownWriteKey, "no source has the write key "+quoteKey(key)))
		return
	}
	if aerr := checkOrigin(w, r, src); aerr != nil {
		writeError(w, aerr)
		return
	}
	base := s.baseURL(r)
	apiHost := base.Host + base.Path + "/v1"
	body := map[string]any{
		"integrations": map[string]any{
			"Segment.io": map[string]any{
				"apiKey":                key,
				"apiHost":               apiHost,
				"protocol":              base.Scheme,
				"unbundledIntegrations": []string{},
				"addBundledMetadata":    true,
				"maybeBundledConfigIds": map[string]any{},
			},
		},
		"plan":                      map[string]any{},
		"edgeFunction":              map[string]any{},
		"analyticsNextEnabled":      true,
		"middlewareSettings":        map[string]any{},
		"enabledMiddleware":         map[string]any{},
		"metrics":                   map[string]any{"sampleRate": 0, "host": apiHost},
		"legacyVideoPluginsEnabled": false,
		"remotePlugins":             []any{},
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=60")
	_ = json.NewEncoder(w).Encode(body)
}

// quoteKey quotes a write key from a URL for a message, bounded.
func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "…"
	}
	b, _ := json.Marshal(k)
	return string(b)
}

// maxMetricsBody bounds what is read of a metrics post before it is dropped.
const maxMetricsBody = 64 << 10

// sdkMetrics takes analytics.js's metrics (POST /v1/m) and drops them: the
// settings ask for none (sampleRate 0), but error reports still come.
func (s *Server) sdkMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeError(w, newError(http.StatusMethodNotAllowed, codeMethod, "use POST"))
		return
	}
	_, _ = io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxMetricsBody))
	writeSuccess(w)
}

// bundleFile names the files of the bundle's directory that are served.
var bundleFile = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.js$`)

// analyticsJS serves the bundle's files from Config.AnalyticsJSDir, read
// once and kept: they are immutable, named for their version or hash.
type analyticsJS struct {
	dir   string
	mu    sync.RWMutex
	files map[string][]byte
}

func (a *analyticsJS) file(name string) ([]byte, error) {
	if !bundleFile.MatchString(name) {
		return nil, fs.ErrNotExist
	}
	a.mu.RLock()
	b, ok := a.files[name]
	a.mu.RUnlock()
	if ok {
		return b, nil
	}
	b, err := os.ReadFile(filepath.Join(a.dir, name))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.files[name] = b
	a.mu.Unlock()
	return b, nil
}

// analyticsMinJS serves the snippet's script: the standalone bundle as
// published, after one line that points analytics.js at this sluice for
// its settings and chunks. analytics.js finds its CDN from the script's URL
// only when it is https; the line makes plain http (development) work too,
// and gives way to a _cdn the page set itself.
func (s *Server) analyticsMinJS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeError(w, newError(http.StatusMethodNotAllowed, codeMethod, "use GET"))
		return
	}
	key := r.PathValue("writeKey")
	if _, ok := s.sources[key]; !ok {
		writeError(w, newError(http.StatusNotFound, codeUnknownWriteKey, "no source has the write key "+quoteKey(key)))
		return
	}
	bundle, err := s.ajs.file("standalone.js")
	if err != nil {
		s.bundleMissing(w, err)
		return
	}
	base, _ := json.Marshal(s.baseURL(r).String())
	prelude := "/* sluice: @segment/analytics-next " + AnalyticsJSVersion + " standalone bundle, as published on npm, after this line. */\n" +
		`(function(w){var k=(document.currentScript&&document.currentScript.getAttribute("data-global-segment-analytics-key"))||"analytics",a=w[k];if(a&&!a._cdn)a._cdn=` +
		string(base) + "})(window);\n"
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = io.WriteString(w, prelude)
	_, _ = w.Write(bundle)
}

// analyticsChunk serves a chunk analytics.js loads on demand.
func (s *Server) analyticsChunk(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET")
		writeError(w, newError(http.StatusMethodNotAllowed, codeMethod, "use GET"))
		return
	}
	name := r.PathValue("file")
	b, err := s.ajs.file(name)
	if errors.Is(err, fs.ErrNotExist) && bundleFile.MatchString(name) {
		if _, serr := s.ajs.file("standalone.js"); serr == nil {
			writeError(w, newError(http.StatusNotFound, codeNotFound, "no analytics.js chunk "+quoteKey(name)))
			return
		}
	}
	if err != nil {
		s.bundleMissing(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

func (s *Server) bundleMissing(w http.ResponseWriter, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		writeError(w, newError(http.StatusNotFound, codeNotFound,
			"analytics.js is not installed in "+s.ajs.dir+": run `make analyticsjs` (or set "+AnalyticsJSDirEnv+")"))
		return
	}
	s.log.Error("api: reading analytics.js", "err", err)
	writeError(w, newError(http.StatusInternalServerError, codeInternal, "reading analytics.js failed"))
}
