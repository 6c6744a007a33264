package api

import (
	"context"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/topics"
)

// TestEveryRouteReachesEventsRaw posts one call to every tracking path, long
// and short, and reads each back from events.raw with its key and envelope.
func TestEveryRouteReachesEventsRaw(t *testing.T) {
	e := newEnv(t)
	bodies := map[string]string{
		"track":    `{"userId":"u-%s","event":"Clicked","properties":{"n":1}}`,
		"identify": `{"userId":"u-%s","traits":{"plan":"pro"}}`,
		"page":     `{"anonymousId":"a-%s","name":"Home"}`,
		"screen":   `{"userId":"u-%s","name":"Settings"}`,
		"group":    `{"userId":"u-%s","groupId":"g1"}`,
		"alias":    `{"userId":"u-%s","previousId":"a1"}`,
		"batch":    `{"batch":[{"type":"track","userId":"u-%s","event":"B"}]}`,
		"import":   `{"batch":[{"type":"identify","anonymousId":"a-%s"}]}`,
	}
	want := map[string]string{} // messageId → route
	for _, rt := range trackingRoutes {
		id := strings.TrimPrefix(rt.path, "/v1/")
		body := strings.ReplaceAll(bodies[rt.label], "%s", id)
		body = strings.Replace(body, `"userId"`, `"messageId":"m-`+id+`","userId"`, 1)
		body = strings.Replace(body, `"anonymousId"`, `"messageId":"m-`+id+`","anonymousId"`, 1)
		r := e.post(rt.path, webKey, []byte(body))
		if r.status != http.StatusOK || r.body["success"] != true {
			t.Fatalf("%s: %d %s", rt.path, r.status, r.raw)
		}
		if r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: no CORS header on the answer", rt.path)
		}
		want["m-"+id] = rt.path
	}
	recs := e.records(e.names.Of(topics.Raw), len(want))
	for _, rec := range recs {
		v := decodeValue(t, rec)
		path, ok := want[v["messageId"].(string)]
		if !ok {
			t.Fatalf("unexpected record %s", rec.Value)
		}
		delete(want, v["messageId"].(string))
		typ := strings.TrimPrefix(path, "/v1/")
		for _, rt := range trackingRoutes {
			if rt.path == path && rt.typ != "" {
				typ = string(rt.typ)
			}
		}
		if typ == "batch" || typ == "b" {
			typ = "track"
		} else if typ == "import" {
			typ = "identify"
		}
		if v["type"] != typ {
			t.Errorf("%s: type %v, want %s", path, v["type"], typ)
		}
		if v["workspace"] != testWorkspace || v["source"] != "web" {
			t.Errorf("%s: envelope %v/%v", path, v["workspace"], v["source"])
		}
		user, _ := v["userId"].(string)
		if user == "" {
			user, _ = v["anonymousId"].(string)
		}
		if string(rec.Key) != testWorkspace+"/"+user {
			t.Errorf("%s: key %q, want %q", path, rec.Key, testWorkspace+"/"+user)
		}
		if _, err := time.Parse(time.RFC3339Nano, v["receivedAt"].(string)); err != nil {
			t.Errorf("%s: receivedAt %v", path, v["receivedAt"])
		}
	}
	if len(want) != 0 {
		t.Errorf("never read back: %v", want)
	}
	if got := e.metric("sluice_api_events_accepted_total", map[string]string{"source": "web"}); got != float64(len(trackingRoutes)) {
		t.Errorf("events accepted metric %v, want %d", got, len(trackingRoutes))
	}
	if got := e.metric("sluice_api_requests_total", map[string]string{"route": "track", "code": "200"}); got != 2 {
		t.Errorf("requests{route=track,code=200} = %v, want 2", got)
	}
	if got := e.metric("sluice_api_produce_latency_seconds", nil); got != float64(len(trackingRoutes)) {
		t.Errorf("produce latency observations %v, want %d", got, len(trackingRoutes))
	}
}

func TestWriteKey(t *testing.T) {
	e := newEnv(t)
	track := `{"userId":"u","event":"e"}`
	for _, tc := range []struct {
		name   string
		key    string
		body   string
		auth   string // raw Authorization header, overrides key
		status int
		source string
	}{
		{"basic", webKey, track, "", 200, "web"},
		{"basic with a password", "", track, "Basic " + base64.StdEncoding.EncodeToString([]byte(appKey+":ignored")), 200, "app"},
		{"in the body", "", `{"writeKey":"wk_app_456","userId":"u","event":"e"}`, "", 200, "app"},
		{"in a batch body", "", `{"batch":[{"type":"track","userId":"u","event":"e"}],"writeKey":"wk_web_123"}`, "", 200, "web"},
		{"header wins over body", appKey, `{"writeKey":"wk_web_123","userId":"u","event":"e"}`, "", 200, "app"},
		{"missing", "", track, "", 401, ""},
		{"unknown", "wk_nope", track, "", 401, ""},
		{"unknown in body", "", `{"writeKey":"wk_nope","userId":"u","event":"e"}`, "", 401, ""},
		{"empty user", "", track, "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+webKey)), 401, ""},
		{"bearer", "", track, "Bearer " + webKey, 401, ""},
		{"not base64", "", track, "Basic !!!", 401, ""},
		{"bad input without key", "", `{"userId":"u"}`, "", 401, ""},
		{"bad input with unknown key", "", `{"writeKey":"wk_nope","userId":"u"}`, "", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/v1/track"
			if strings.Contains(tc.body, `"batch"`) {
				path = "/v1/batch"
			}
			var hdr []string
			if tc.auth != "" {
				hdr = []string{"Authorization", tc.auth}
			}
			r := e.post(path, tc.key, []byte(tc.body), hdr...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.raw)
			}
			if tc.status == 401 && r.body["code"] != codeUnauthorized {
				t.Errorf("code %v", r.body["code"])
			}
		})
	}
	// Which source each accepted event was credited to.
	recs := e.records(e.names.Of(topics.Raw), 5)
	count := map[string]int{}
	for _, r := range recs {
		count[decodeValue(t, r)["source"].(string)]++
	}
	if count["web"] != 2 || count["app"] != 3 {
		t.Errorf("sources %v, want web 2, app 3", count)
	}
	// Unauthenticated bad input leaves no dead letter.
	if got := e.metric("sluice_api_deadletters_total", nil); got != 0 {
		t.Errorf("dead letters %v for unauthenticated input", got)
	}
}

// TestBadInputAnswersAndDeadLetters checks the status, code, index and field
// of refused input through HTTP, and that each refusal is on deadletter.
func TestBadInputAnswersAndDeadLetters(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		path   string
		body   string
		status int
		code   string
		index  float64 // -1: absent
		field  string
	}{
		{"/v1/track", `{"userId":"u"}`, 400, "missing_field", -1, "event"},
		{"/v1/identify", `{"traits":{}}`, 400, "missing_identity", -1, "userId"},
		{"/v1/batch", `{"batch":[{"type":"track","userId":"u","event":"e"},{"userId":"u"}`, 400, "invalid_json", -1, ""},
		{"/v1/batch", `{"batch":[]}`, 400, "empty_batch", -1, "batch"},
		{"/v1/track", "{\"userId\":\"u\",\"event\":\"\xff\"}", 400, "invalid_utf8", -1, "event"},
		{"/v1/track", `{"userId":"u","event":"e","properties":{"n":1e999}}`, 400, "number_out_of_range", -1, "properties"},
		{"/v1/page", `not json`, 400, "invalid_json", -1, ""},
		{"/v1/track", `{"userId":"u","event":"e","properties":{"p":"` + strings.Repeat("x", 33<<10) + `"}}`, 413, "event_too_large", -1, ""},
		{"/v1/batch", `{"batch":[` + strings.Repeat(`{"type":"page","userId":"u"},`, 2500) + `{"type":"page","userId":"u"}]}`, 413, "too_many_events", 2500, ""},
	}
	for _, tc := range cases {
		r := e.post(tc.path, webKey, []byte(tc.body))
		if r.status != tc.status || r.body["code"] != tc.code || r.body["success"] != false {
			t.Errorf("%s %.60s: %d %v, want %d %s", tc.path, tc.body, r.status, r.body["code"], tc.status, tc.code)
			continue
		}
		idx, hasIdx := r.body["index"].(float64)
		if (tc.index < 0 && hasIdx) || (tc.index >= 0 && idx != tc.index) {
			t.Errorf("%s %.60s: index %v, want %v", tc.path, tc.body, r.body["index"], tc.index)
		}
		if f, _ := r.body["field"].(string); f != tc.field {
			t.Errorf("%s %.60s: field %q, want %q", tc.path, tc.body, f, tc.field)
		}
		if msg, _ := r.body["message"].(string); msg == "" {
			t.Errorf("%s: no message", tc.path)
		}
	}
	dls := e.records(e.names.Of(topics.DeadLetter), len(cases))
	for i, rec := range dls {
		v := decodeValue(t, rec)
		tc := cases[i]
		if v["code"] != tc.code || v["source"] != "web" || v["workspace"] != testWorkspace || v["route"] != tc.path ||
			v["status"] != float64(tc.status) || v["reason"] == "" {
			t.Errorf("dead letter %d: %v", i, v)
		}
		body, _ := v["body"].(string)
		if len(tc.body) <= DefaultDeadLetterBodyBytes {
			if v["truncated"] != false || v["bodyBytes"] != float64(len(tc.body)) || !strings.HasPrefix(body, strings.ToValidUTF8(tc.body[:min(len(tc.body), 20)], "\uFFFD")) {
				t.Errorf("dead letter %d body: %v", i, v)
			}
		} else if n, _ := v["bodyBytes"].(float64); v["truncated"] != true || len(body) != DefaultDeadLetterBodyBytes || n < DefaultDeadLetterBodyBytes || n > float64(len(tc.body)) {
			t.Errorf("dead letter %d: body of %d bytes, truncated %v", i, len(body), v["truncated"])
		}
	}
	// Refused input never reaches events.raw.
	if got := e.recordsBeforeSentinel(e.names.Of(topics.Raw)); len(got) != 0 {
		t.Errorf("events.raw holds %d records of refused input: %s", len(got), got[0].Value)
	}
	if got := e.metric("sluice_api_requests_rejected_total", map[string]string{"code": "missing_field"}); got != 1 {
		t.Errorf("rejected{code=missing_field} = %v, want 1", got)
	}
}

// TestBatchLossless: in a batch each item is judged alone. The good items
// land, in order per user; each refused one is listed in the 200 answer and
// dead-lettered with its reason, on every batch route.
func TestBatchLossless(t *testing.T) {
	e := newEnv(t)
	items := make([]string, 50)
	for i := range items {
		items[i] = `{"type":"track","userId":"same-user","event":"e","properties":{"i":` + itoa(i) + `}}`
	}
	items[37] = `{"type":"track","userId":"same-user","messageId":"m-37"}`
	items[41] = `{"type":"identify","userId":"same-user","traits":{"n":1e999},"messageId":"m-41"}`
	r := e.post("/v1/batch", webKey, []byte(`{"batch":[`+strings.Join(items, ",")+`]}`))
	if r.status != 200 || r.body["success"] != true {
		t.Fatalf("batch with two bad items: %d %s", r.status, r.raw)
	}
	refused, _ := r.body["refused"].([]any)
	if len(refused) != 2 {
		t.Fatalf("refused %v, want items 37 and 41", r.body["refused"])
	}
	for i, want := range []struct {
		index       float64
		id, code    string
		messagePart string
	}{{37, "m-37", "missing_field", `batch[37].event`}, {41, "m-41", "number_out_of_range", `batch[41].traits`}} {
		got := refused[i].(map[string]any)
		if got["index"] != want.index || got["messageId"] != want.id || got["code"] != want.code ||
			!strings.HasPrefix(got["message"].(string), want.messagePart) {
			t.Errorf("refused[%d] = %v, want %+v", i, got, want)
		}
	}
	recs := e.recordsBeforeSentinel(e.names.Of(topics.Raw))
	if len(recs) != 48 {
		t.Fatalf("%d records, want the 48 good items", len(recs))
	}
	prev := -1.0
	for _, rec := range recs {
		props := decodeValue(t, rec)["properties"].(map[string]any)
		i := props["i"].(float64)
		if i <= prev || i == 37 || i == 41 {
			t.Fatalf("record holds item %v after item %v: one user's events out of order", i, prev)
		}
		prev = i
	}
	dls := e.records(e.names.Of(topics.DeadLetter), 2)
	for i, want := range []struct {
		index float64
		code  string
		body  string
	}{{37, "missing_field", items[37]}, {41, "number_out_of_range", items[41]}} {
		v := decodeValue(t, dls[i])
		if v["index"] != want.index || v["code"] != want.code || v["body"] != want.body || v["route"] != "/v1/batch" ||
			v["source"] != "web" || v["status"] != float64(400) || v["reason"] == "" {
			t.Errorf("dead letter %d: %v", i, v)
		}
	}
	if got := e.metric("sluice_api_items_refused_total", map[string]string{"code": "missing_field"}); got != 1 {
		t.Errorf("items_refused{code=missing_field} = %v, want 1", got)
	}
	if got := e.metric("sluice_api_events_accepted_total", map[string]string{"source": "web"}); got != 48 {
		t.Errorf("events accepted %v, want 48", got)
	}

	// The same on /v1/b and /v1/import; a batch of refused items only is
	// still a 200 that lists them all.
	for _, path := range []string{"/v1/b", "/v1/import"} {
		r := e.post(path, webKey, []byte(`{"batch":[{"type":"page","anonymousId":"a"},{"type":"screen"},{"type":"nope","userId":"u"}]}`))
		if r.status != 200 || len(r.body["refused"].([]any)) != 2 {
			t.Errorf("%s: %d %s", path, r.status, r.raw)
		}
	}
	r = e.post("/v1/batch", webKey, []byte(`{"batch":[1,{"type":"track"}]}`))
	if refused, _ := r.body["refused"].([]any); r.status != 200 || len(refused) != 2 {
		t.Errorf("every item refused: %d %s", r.status, r.raw)
	}
	// Request-level faults stay 4xx: the batch's own syntax, its size, its count.
	for body, code := range map[string]string{
		`{"batch":[{"type":"page","anonymousId":"a"},{"type":]}`:                                                "invalid_json",
		`{"batch":[{"type":"page","anonymousId":"a"}],"context":[]}`:                                            "invalid_field_type",
		`{"batch":[` + strings.Repeat(`{"type":"page","userId":"u"},`, 2500) + `{"type":"page","userId":"u"}]}`: "too_many_events",
	} {
		if r := e.post("/v1/batch", webKey, []byte(body)); r.status < 400 || r.body["code"] != code {
			t.Errorf("%.60s: %d %s, want %s", body, r.status, r.raw, code)
		}
	}
}

func TestMethodsCORSAndUnknownPaths(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodOptions, e.http.URL+"/v1/t", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type,authorization")
	r := e.do(req)
	if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" ||
		r.header.Get("Access-Control-Allow-Credentials") != "true" ||
		r.header.Get("Access-Control-Allow-Headers") != "content-type,authorization" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Errorf("preflight: %d %v", r.status, r.header)
	}
	req, _ = http.NewRequest(http.MethodGet, e.http.URL+"/v1/track", nil)
	if r := e.do(req); r.status != http.StatusMethodNotAllowed || r.body["code"] != codeMethod || r.header.Get("Allow") == "" {
		t.Errorf("GET /v1/track: %d %s", r.status, r.raw)
	}
	if r := e.post("/v1/nope", webKey, []byte(`{}`)); r.status != http.StatusNotFound || r.body["code"] != codeNotFound {
		t.Errorf("unknown path: %d %s", r.status, r.raw)
	}
	// analytics.js posts text/plain with the key in the body.
	r = e.post("/v1/t", "", []byte(`{"type":"track","event":"e","anonymousId":"a","writeKey":"wk_web_123"}`), "Content-Type", "text/plain")
	if r.status != 200 {
		t.Errorf("text/plain: %d %s", r.status, r.raw)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	e := newEnv(t)
	get := func(path string) reply {
		req, _ := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
		return e.do(req)
	}
	if r := get("/healthz"); r.status != 200 {
		t.Errorf("healthz %d", r.status)
	}
	if r := get("/readyz"); r.status != 200 || r.body["ready"] != true {
		t.Errorf("readyz %d %s", r.status, r.raw)
	}
	e.post("/v1/track", webKey, []byte(`{"userId":"u","event":"e"}`))
	e.post("/v1/track", webKey, []byte(`{"userId":"u"}`))
	r := get("/metrics")
	for _, want := range []string{
		`sluice_api_requests_total{code="200",route="track"} 1`,
		`sluice_api_requests_total{code="400",route="track"} 1`,
		`sluice_api_events_accepted_total{source="web"} 1`,
		`sluice_api_request_bytes_total{route="track"}`,
		`sluice_api_produce_latency_seconds_count 1`,
		`sluice_api_requests_rejected_total{code="missing_field"} 1`,
	} {
		if !strings.Contains(r.raw, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAdminRoutes(t *testing.T) {
	var called int
	var panicked bool
	e := newEnv(t, func(c *Config) {
		c.AdminToken = adminToken
		c.Admin = []Route{
			{Pattern: "GET /v1/tracking-plans", Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called++
				_, _ = w.Write([]byte(`{"plans":[]}`))
			})},
			{Pattern: "POST /v1/regulations", Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panicked = true
				panic("a bug in an admin handler")
			})},
		}
	})
	get := func(auth string) reply {
		req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/v1/tracking-plans", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return e.do(req)
	}
	for _, auth := range []string{"", "Bearer wrong", "Bearer " + adminToken + "x", "Basic " + adminToken, adminToken} {
		if r := get(auth); r.status != http.StatusUnauthorized || r.body["code"] != codeUnauthorized {
			t.Errorf("auth %q: %d %s", auth, r.status, r.raw)
		}
	}
	if called != 0 {
		t.Fatalf("handler ran without the token")
	}
	if r := get("Bearer " + adminToken); r.status != 200 || called != 1 {
		t.Errorf("with the token: %d %s", r.status, r.raw)
	}
	// A panicking handler is answered 500 and counted; the server lives on.
	req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/v1/regulations", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if r := e.do(req); r.status != 500 || !panicked || r.body["code"] != codeInternal {
		t.Errorf("panic: %d %s", r.status, r.raw)
	}
	if got := e.metric("sluice_api_panics_total", nil); got != 1 {
		t.Errorf("panics %v, want 1", got)
	}
	if got := e.metric("sluice_api_requests_total", map[string]string{"route": "admin", "code": "500"}); got != 1 {
		t.Errorf("requests{route=admin,code=500} = %v, want 1", got)
	}
	if r := get("Bearer " + adminToken); r.status != 200 {
		t.Errorf("after the panic: %d", r.status)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	e := newEnv(t)
	base := e.server.cfg
	base.Registry = nil
	h := http.NotFoundHandler()
	weak, err := kgo.NewClient(kgo.SeedBrokers(e.broker.Addr()), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	if err != nil {
		t.Fatal(err)
	}
	defer weak.Close()
	for name, mod := range map[string]func(*Config){
		"no producer":       func(c *Config) { c.Producer = nil },
		"acks=1":            func(c *Config) { c.Producer = weak },
		"admin no token":    func(c *Config) { c.AdminToken = ""; c.Admin = []Route{{Pattern: "GET /x", Handler: h}} },
		"admin no handler":  func(c *Config) { c.AdminToken = "t"; c.Admin = []Route{{Pattern: "GET /x", Handler: nil}} },
		"admin clash":       func(c *Config) { c.AdminToken = "t"; c.Admin = []Route{{Pattern: "/v1/track", Handler: h}} },
		"admin bad pattern": func(c *Config) { c.AdminToken = "t"; c.Admin = []Route{{Pattern: "GET", Handler: h}} },
		"bad workspace":     func(c *Config) { c.Workspace.Workspace = "no spaces allowed" },
		"metrics twice":     func(c *Config) { c.Registry = e.registry },
	} {
		c := base
		mod(&c)
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.server.Serve(ctx, ln) }()
	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/track", "application/json",
		strings.NewReader(`{"userId":"u","event":"e","writeKey":"wk_web_123"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Post("http://"+ln.Addr().String()+"/v1/track", "application/json", strings.NewReader(`{}`)); err == nil {
		t.Errorf("still serving after shutdown")
	}
}
