package planstore

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const bodyV1 = `{"author":"ana","manifest":{"name":"shop","owners":["data@shop.example"],"events":{"E":{"versions":{"1":"e.avsc"}}}},
 "files":{"e.avsc":{"type":"record","name":"E","fields":[{"name":"v","type":"int"}]}}}`

// TestAdminAPI drives the handler over a real Store and broker.
func TestAdminAPI(t *testing.T) {
	_, cfg := startBroker(t)
	h := NewHandler(newStore(t, cfg), nil)
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d, body is not JSON: %s", method, path, rec.Code, rec.Body)
		}
		return rec.Code, out
	}

	if code, out := do("GET", "/v1/tracking-plans", ""); code != 200 || len(out["plans"].([]any)) != 0 {
		t.Fatalf("empty list: %d %v", code, out)
	}
	if code, _ := do("GET", "/v1/tracking-plans/shop", ""); code != 404 {
		t.Fatalf("missing plan: %d", code)
	}
	if code, out := do("POST", "/v1/tracking-plans?dryRun=true", bodyV1); code != 200 || out["published"] != false || len(out["changes"].([]any)) != 1 {
		t.Fatalf("dry run: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/tracking-plans", bodyV1); code != 201 || out["version"] != 1.0 {
		t.Fatalf("publish: %d %v", code, out)
	}
	if code, out := do("POST", "/v1/tracking-plans", bodyV1); code != 200 || out["unchanged"] != true {
		t.Fatalf("republish: %d %v", code, out)
	}
	incompatible := strings.Replace(bodyV1, `"type":"int"`, `"type":"string"`, 1)
	code, out := do("POST", "/v1/tracking-plans", incompatible)
	if code != 409 || len(out["verdict"].(map[string]any)["problems"].([]any)) != 1 {
		t.Fatalf("incompatible: %d %v", code, out)
	}
	forced := strings.Replace(incompatible, `"author":"ana"`, `"author":"ana","compatibility":"none"`, 1)
	if code, out := do("POST", "/v1/tracking-plans", forced); code != 201 || out["version"] != 2.0 {
		t.Fatalf("forced: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/tracking-plans/shop/versions/1", ""); code != 200 || out["version"] != 1.0 || out["author"] != "ana" {
		t.Fatalf("show 1: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/tracking-plans/shop", ""); code != 200 || out["version"] != 2.0 {
		t.Fatalf("show latest: %d %v", code, out)
	}
	if code, out := do("GET", "/v1/tracking-plans", ""); code != 200 || out["plans"].([]any)[0].(map[string]any)["latestVersion"] != 2.0 {
		t.Fatalf("list: %d %v", code, out)
	}
}

// TestAdminAPIBadRequests: every malformed request gets a precise 400.
func TestAdminAPIBadRequests(t *testing.T) {
	h := NewHandler(nil, nil) // never reached: every request fails before the backend
	tests := []struct {
		path, body, want string
		code             int
	}{
		{"/v1/tracking-plans", `{`, "body:", 400},
		{"/v1/tracking-plans", `{"files":{},"extra":1}`, `unknown field \"extra\"`, 400},
		{"/v1/tracking-plans", `{"files":{"e.avsc":12}}`, `files[\"e.avsc\"]`, 400},
		{"/v1/tracking-plans", `{"compatibility":"SIDEWAYS","files":{}}`, "compatibility", 400},
		{"/v1/tracking-plans", `{"manifest":[1],"files":{}}`, "manifest: must be an object", 400},
		{"/v1/tracking-plans", `{"manifest":{"name":"x"},"files":{"plan.yaml":"name: x"}}`, "given both", 400},
		{"/v1/tracking-plans", `{"files":{}}`, `"file":"plan.yaml","message":"missing`, 400},
		{"/v1/tracking-plans", `{"manifest":{"name":"x","owners":["o"],"events":{"E":{"versions":{"1":"e.avsc"}}}},"files":{"e.avsc":"{\"type\":\"record\",\"name\":\"E\",\"fields\":[{\"name\":\"v\",\"type\":\"flaot\"}]}"}}`, `"file":"e.avsc","path":"v","message":"unknown type \"flaot\"`, 400},
		{"/v1/tracking-plans?dryRun=maybe", `{}`, "dryRun", 400},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", tt.path, strings.NewReader(tt.body)))
		compact := new(bytes.Buffer)
		_ = json.Compact(compact, rec.Body.Bytes())
		if rec.Code != tt.code || !strings.Contains(compact.String(), tt.want) {
			t.Errorf("%s %s: %d %s, want %d containing %s", tt.path, tt.body, rec.Code, compact, tt.code, tt.want)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/tracking-plans/shop/versions/zero", nil))
	if rec.Code != 400 {
		t.Errorf("bad version: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	big := `{"files":{"a.avsc":"` + strings.Repeat("x", MaxBodySize) + `"}}`
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/tracking-plans", strings.NewReader(big)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d", rec.Code)
	}
}

// FuzzDecodePublishRequest: no body makes the decoder, the plan checker or
// the handler panic, and every answer to a dry run is 200 or 400.
func FuzzDecodePublishRequest(f *testing.F) {
	f.Add([]byte(bodyV1))
	f.Add([]byte(`{"files":{"plan.yaml":"name: a\nowners: [o]\n","t.avsc":"[\"null\"]"}}`))
	f.Add([]byte(`{"manifest":null,"files":{"x":"\u0000"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, files, err := DecodePublishRequest(bytes.NewReader(body)); err == nil && files == nil {
			t.Fatal("no error and no files")
		}
		rec := httptest.NewRecorder()
		NewHandler(nopBackend{}, nil).ServeHTTP(rec, httptest.NewRequest("POST", "/v1/tracking-plans?dryRun=true", bytes.NewReader(body)))
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
	})
}
