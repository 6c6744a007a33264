package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/topics"
)

// docsSnippet returns Segment's snippet as docs/tracking-api.md shows it,
// with the development address it names.
func docsSnippet(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "tracking-api.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```html\n(<script>.*?SNIPPET_VERSION.*?</script>)\n```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/tracking-api.md has no ```html block holding Segment's snippet")
	}
	return string(m[1])
}

const docsAPI = "http://127.0.0.1:8088"

// browserDeps fails the test with what to install when the browser, the
// driver or the bundle is missing; `make deps` installs all three.
func browserDeps(t *testing.T) string {
	t.Helper()
	dir := compatDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core", "package.json")); err != nil {
		t.Fatalf("playwright-core is not installed in %s: run `make compat`: %v", dir, err)
	}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		t.Fatalf("Debian's chromium is not installed: run `make chromium` (apt-get install chromium): %v", err)
	}
	if _, err := os.Stat(filepath.Join(DefaultAnalyticsJSDir(), "standalone.js")); err != nil {
		t.Fatalf("analytics.js is not fetched: run `make analyticsjs`: %v", err)
	}
	return dir
}

// browserPage builds a test page on another origin: the docs' snippet
// pointed at api (its load call replaced by load when set), then script.
func browserPage(snippet, api, load, script string) string {
	snippet = strings.ReplaceAll(snippet, docsAPI, api)
	if load != "" {
		snippet = strings.Replace(snippet, `analytics.load("wk_web_123");`, load, 1)
	}
	return "<!doctype html><html><head><meta charset=utf-8><link rel=icon href=\"data:,\"><title>sluice browser test</title>\n" + snippet +
		"\n</head><body><p>sluice</p><script>\nconst API = " + jsString(api) + ", KEY = " + jsString(webKey) + ";\n" +
		script + "\n</script></body></html>"
}

func jsString(s string) string { b, _ := json.Marshal(s); return string(b) }

// received is one request the API received, with its answer's CORS.
type received struct {
	Method, URL, Origin string
	Header              http.Header
	Body                string
	Status              int
	Answer              http.Header
}

// recorder keeps every request its handler answers.
type recorder struct {
	h    http.Handler
	mu   sync.Mutex
	reqs []received
	// posts counts answered POSTs.
	posts atomic.Int64
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w}
	rc.h.ServeHTTP(sw, r)
	rec := received{Method: r.Method, URL: r.URL.RequestURI(), Origin: r.Header.Get("Origin"), Header: r.Header.Clone(),
		Body: string(body), Status: sw.status, Answer: w.Header().Clone()}
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
	if r.Method == http.MethodPost {
		rc.posts.Add(1)
	}
}

// TestAnalyticsJSInBrowser loads the real analytics.js (@segment/analytics-next,
// the standalone bundle sluice serves) in headless Chromium through the
// snippet of docs/tracking-api.md, from a page on another origin, and checks
// every event it sent on events.raw, field by field: page, identify, track,
// group and alias one by one; batching mode; the batch flushed with keepalive
// and a sendBeacon with a JSON Blob when the page is hidden; a credentialed
// fetch with a custom header. No console error may appear.
func TestAnalyticsJSInBrowser(t *testing.T) {
	dir := browserDeps(t)
	e := newEnv(t)
	rc := &recorder{h: e.server.Handler()}
	apiSrv := httptest.NewServer(rc)
	t.Cleanup(apiSrv.Close)
	apiURL := apiSrv.URL
	snippet := docsSnippet(t)
	pages := map[string]string{
		// One request per call, as the snippet loads by default.
		"/standard": browserPage(snippet, apiURL, "", `
analytics.identify('user-b1', {email: 'ada@example.com', name: 'Ada Lövelace', logins: 42, ratio: 0.125, big: 9007199254740991});
analytics.track('Order Completed', {orderId: 'o-1', total: 99.95, currency: 'EUR', coupon: null, gift: false,
  products: [{sku: 'sku-1', qty: 2, price: 19.99}], note: 'emoji 😀, quote ", backslash \\, newline \n'});
analytics.group('group-7', {name: 'Acme Inc', employees: 120});
analytics.alias('user-b1-new', 'user-b1');
// A page's own credentialed fetch with a custom header, behind a preflight.
fetch(API + '/v1/track', {method: 'POST', credentials: 'include',
  headers: {'Content-Type': 'application/json', 'X-Page-Test': 'yes'},
  body: JSON.stringify({writeKey: KEY, anonymousId: 'anon-fetch', event: 'Credentialed Fetch', messageId: 'credentialed-fetch-1'})});
`),
		// Batching: the first three calls go as one batch, the last two
		// wait for the page to be hidden and leave with keepalive, next to
		// the page's own beacon.
		"/batching": browserPage(snippet, apiURL,
			`analytics.load("wk_web_123", {integrations: {"Segment.io": {deliveryStrategy: {strategy: "batching", config: {size: 3, timeout: 600000}}}}});`, `
analytics.identify('user-b2', {plan: 'team'});
analytics.track('Report Exported', {format: 'csv', rows: 1200});
analytics.group('group-8', {name: 'Beta GmbH'});
analytics.track('Tab Closed', {after: 'pagehide'});
addEventListener('pagehide', () => {
  const ev = {writeKey: KEY, anonymousId: 'anon-beacon', event: 'Page Hidden', messageId: 'beacon-1',
    properties: {via: 'sendBeacon'}, timestamp: new Date().toISOString()};
  if (!navigator.sendBeacon(API + '/v1/t', new Blob([JSON.stringify(ev)], {type: 'application/json'}))) {
    console.error('sendBeacon refused');
  }
});
`),
	}
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/count" {
			_, _ = w.Write([]byte(strconv.FormatInt(rc.posts.Load(), 10)))
			return
		}
		html, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(html))
	}))
	t.Cleanup(site.Close)
	if site.URL == apiURL {
		t.Fatal("the page must be on another origin than the API")
	}

	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "browser_analytics.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SLUICE_COUNT_URL="+site.URL+"/count",
		"SLUICE_PAGES="+site.URL+"/standard,"+site.URL+"/batching",
		"SLUICE_SHOWN=6,1", "SLUICE_HIDDEN=0,2")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Errors        []string `json:"errors"`
		Requests      []string `json:"requests"`
		AbortedOnHide []string `json:"abortedOnHide"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("browser_analytics.mjs: %v, output %q: %v\nstderr: %s", runErr, stdout.String(), err, stderr.String())
	}
	rc.mu.Lock()
	reqs := append([]received(nil), rc.reqs...)
	rc.mu.Unlock()
	for _, r := range reqs {
		t.Logf("API got %s %s from %q → %d", r.Method, r.URL, r.Origin, r.Status)
	}
	if runErr != nil || len(out.Errors) > 0 {
		t.Fatalf("the browser reports errors (%v):\n%s", runErr, strings.Join(out.Errors, "\n"))
	}

	// What analytics.js fetched before it sent anything, and CORS: every
	// answer to the page's origin reflects it and allows credentials.
	seen := map[string]int{}
	for _, r := range reqs {
		switch {
		case r.Method == "GET" && r.URL == "/analytics.js/v1/"+webKey+"/analytics.min.js":
			seen["script"]++
		case r.Method == "GET" && r.URL == "/v1/projects/"+webKey+"/settings":
			seen["settings"]++
		case r.Method == "OPTIONS":
			seen["preflight"]++
			if got := r.Answer.Get("Access-Control-Allow-Headers"); got != r.Header.Get("Access-Control-Request-Headers") {
				t.Errorf("preflight of %s: allowed headers %q, asked %q", r.URL, got, r.Header.Get("Access-Control-Request-Headers"))
			}
		case r.URL == "/v1/m":
			seen["metrics"]++
		}
		if r.Status >= 300 {
			t.Errorf("%s %s answered %d", r.Method, r.URL, r.Status)
		}
		if r.Origin != "" && r.Method != "GET" {
			if r.Origin != site.URL {
				t.Errorf("%s %s from origin %q, want the page's %q", r.Method, r.URL, r.Origin, site.URL)
			}
			if r.Answer.Get("Access-Control-Allow-Origin") != r.Origin || r.Answer.Get("Access-Control-Allow-Credentials") != "true" ||
				!strings.Contains(strings.Join(r.Answer.Values("Vary"), ","), "Origin") {
				t.Errorf("%s %s: CORS answer %v", r.Method, r.URL, r.Answer)
			}
		}
	}
	if seen["script"] == 0 || seen["settings"] == 0 || seen["preflight"] == 0 {
		t.Fatalf("analytics.js did not load its script and settings from sluice: %v", seen)
	}
	// What the leaving page reported aborted, the API received and stored.
	for _, a := range out.AbortedOnHide {
		method, url, _ := strings.Cut(a, " ")
		path := strings.TrimPrefix(url, apiURL)
		found := false
		for _, r := range reqs {
			found = found || (r.Method == method && r.URL == path && r.Status == http.StatusOK)
		}
		if !found {
			t.Errorf("%s, sent as the page was hidden, never reached the API", a)
		}
	}

	// Every event the browser sent, with what came with it.
	type sent struct {
		ev     sdkEvent
		sentAt time.Time
		path   string
	}
	want := map[string]sent{}
	paths := map[string]int{}
	for _, r := range reqs {
		if r.Method != "POST" || r.URL == "/v1/m" {
			continue
		}
		paths[r.URL]++
		if r.URL == "/v1/b" {
			var b struct {
				Batch  []json.RawMessage `json:"batch"`
				SentAt time.Time         `json:"sentAt"`
			}
			if err := json.Unmarshal([]byte(r.Body), &b); err != nil {
				t.Fatalf("batch body %s: %v", r.Body, err)
			}
			for _, raw := range b.Batch {
				var ev sdkEvent
				if err := json.Unmarshal(raw, &ev); err != nil {
					t.Fatal(err)
				}
				want[ev.MessageID] = sent{ev, b.SentAt, r.URL}
			}
			continue
		}
		var ev sdkEvent
		var at struct {
			SentAt time.Time `json:"sentAt"`
		}
		if err := json.Unmarshal([]byte(r.Body), &ev); err != nil {
			t.Fatalf("%s body %s: %v", r.URL, r.Body, err)
		}
		_ = json.Unmarshal([]byte(r.Body), &at)
		if ev.Type == "" {
			ev.Type = "track" // the page's own fetch and beacon
		}
		want[ev.MessageID] = sent{ev, at.SentAt, r.URL}
	}
	for _, p := range []string{"/v1/p", "/v1/i", "/v1/t", "/v1/g", "/v1/a", "/v1/track", "/v1/b"} {
		if paths[p] == 0 {
			t.Errorf("the browser posted nothing to %s (posts: %v)", p, paths)
		}
	}
	if paths["/v1/b"] != 2 {
		t.Errorf("%d batches, want 2: one of three calls, one flushed on pagehide", paths["/v1/b"])
	}
	for _, id := range []string{"credentialed-fetch-1", "beacon-1"} {
		if _, ok := want[id]; !ok {
			t.Errorf("the browser never sent %s", id)
		}
	}
	if n := len(want); n != 12 {
		t.Errorf("%d events sent, want 12: 5 and a fetch on the first page, 5 and a beacon on the second", n)
	}

	recs := e.records(e.names.Of(topics.Raw), len(want))
	for _, rec := range recs {
		var got schemas.Event
		if err := schemas.DecodeRaw(rec.Value, &got); err != nil {
			t.Fatalf("events.raw value %s: %v", rec.Value, err)
		}
		s, ok := want[got.MessageID]
		if !ok {
			t.Fatalf("events.raw holds an event the browser did not send: %s", rec.Value)
		}
		delete(want, got.MessageID)
		ev := s.ev
		check := func(field, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("%s %s %s: %s = %q, want %q", s.path, ev.Type, ev.MessageID, field, got, want)
			}
		}
		check("type", string(got.Type), ev.Type)
		check("userId", got.UserID, ev.UserID)
		check("anonymousId", got.AnonymousID, ev.AnonymousID)
		check("event", got.Event, ev.Event)
		check("name", got.Name, ev.Name)
		check("category", got.Category, ev.Category)
		check("groupId", got.GroupID, ev.GroupID)
		check("previousId", got.PreviousID, ev.PreviousID)
		check("workspace", got.Workspace, testWorkspace)
		check("source", got.Source, "web")
		user := ev.UserID
		if user == "" {
			user = ev.AnonymousID
		}
		check("key", string(rec.Key), testWorkspace+"/"+user)
		// Objects byte for byte as the browser serialised them; context
		// gains the request's address, truncated (the source's default).
		wantCtx := schemas.SetMember(ev.Context, "ip", []byte(`"127.0.0.0"`))
		check("context", string(got.Context), string(wantCtx))
		check("integrations", string(got.Integrations), string(ev.Integrations))
		check("properties", string(got.Properties), string(ev.Properties))
		check("traits", string(got.Traits), string(ev.Traits))
		if ev.Timestamp.IsZero() {
			if !got.Timestamp.Equal(got.ReceivedAt) {
				t.Errorf("%s: no timestamp sent, stored %v, want receivedAt %v", ev.MessageID, got.Timestamp, got.ReceivedAt)
			}
			continue
		}
		if !got.OriginalTimestamp.Equal(ev.Timestamp) {
			t.Errorf("%s %s: originalTimestamp %v, want %v", ev.Type, ev.MessageID, got.OriginalTimestamp, ev.Timestamp)
		}
		if s.sentAt.IsZero() {
			continue
		}
		if !got.SentAt.Equal(s.sentAt) {
			t.Errorf("%s %s: sentAt %v, want %v", ev.Type, ev.MessageID, got.SentAt, s.sentAt)
		}
		if want := got.ReceivedAt.Add(-s.sentAt.Sub(ev.Timestamp)); !got.Timestamp.Equal(want) {
			t.Errorf("%s: timestamp %v, want receivedAt − (sentAt − timestamp) = %v", ev.Type, got.Timestamp, want)
		}
	}
	if len(want) != 0 {
		t.Errorf("events the browser sent but events.raw lacks: %v", want)
	}
}
