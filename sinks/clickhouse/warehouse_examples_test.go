package clickhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

// compatDir holds the independent clients the compatibility tests drive.
var compatDir = filepath.Join("..", "..", "testenv", "compat")

// TestWarehouseExamples writes a small shop's events through the sink, then
// runs every example query of docs/warehouse.md with the official ClickHouse
// JS client and checks the answers.
func TestWarehouseExamples(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed; install Node.js 20+ and run `make deps`: %v", err)
	}
	if _, err := os.Stat(filepath.Join(compatDir, "node_modules", "@clickhouse", "client")); err != nil {
		t.Fatalf("%s/node_modules lacks @clickhouse/client: run `make compat` (npm ci --prefix testenv/compat): %v", compatDir, err)
	}
	d := newDest(t, func(c *Config) { c.Plans = shopPlans(t) })
	s := d.open(t)
	if err := s.Write(t.Context(), sinktest.NewBatch("sluice.dest.warehouse", 0, 0, shopEvents(time.Now().UTC()))); err != nil {
		t.Fatal(err)
	}

	cmd := exec.CommandContext(t.Context(), node, filepath.Join(compatDir, "warehouse_examples.mjs"), d.srv.URL(), d.db,
		filepath.Join("..", "..", "docs", "warehouse.md"))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("warehouse_examples.mjs: %v\n%s", err, stderr.String())
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	for _, name := range []string{"daily-actives", "funnel", "user-history", "revenue-json", "revenue-typed", "landing-pages", "latest-traits",
		"dotted-keys", "dotted-keys-text", "absent-context"} {
		if len(got[name]) == 0 {
			t.Errorf("example %s is missing or returned nothing", name)
		}
	}
	// check compares rows as text: clients render 64-bit integers as
	// numbers or strings depending on settings.
	check := func(name string, want ...map[string]any) {
		t.Helper()
		if fmt.Sprint(textRows(got[name])) != fmt.Sprint(textRows(want)) {
			t.Errorf("%s:\n got %v\nwant %v", name, got[name], want)
		}
	}
	// user-1 and user-2 went all the way, user-3 and anon-9 only viewed.
	check("funnel", map[string]any{"level": 1, "users": 2}, map[string]any{"level": 3, "users": 2})
	check("revenue-typed", map[string]any{"currency": "EUR", "orders": 2, "revenue": 150})
	check("revenue-json", map[string]any{"currency": "EUR", "orders": 2, "revenue": 150})
	check("dotted-keys", map[string]any{"flat": "newsletter", "nested": "ads"})
	check("absent-context", map[string]any{"tracks": 9, "without_page_path": 8})
	if props := fmt.Sprint(got["dotted-keys-text"]); !strings.Contains(props, `"utm.source":"newsletter"`) || !strings.Contains(props, `"utm":{"source":"ads"}`) {
		t.Errorf("dotted-keys-text: %s", props)
	}
	traits := got["latest-traits"]
	if len(traits) != 2 || traits[0]["email"] != "one@acme.example" || traits[0]["plan"] != "pro" || traits[1]["plan"] != "free" {
		t.Errorf("latest-traits: %v", traits)
	}
	if n := len(got["user-history"]); n != 6 { // 2 identifies, 1 page, 3 tracks
		t.Errorf("user-1's history has %d rows, want 6", n)
	}
	if path := got["landing-pages"][0]["path"]; path != "/shoes" {
		t.Errorf("top landing page %v", path)
	}
}

// shopEvents is a day of a small shop, in the last hours before now.
func shopEvents(now time.Time) []schemas.Event {
	var out []schemas.Event
	at := now.Add(-3 * time.Hour)
	add := func(e schemas.Event) {
		at = at.Add(time.Minute)
		e.MessageID = fmt.Sprintf("shop-%d", len(out))
		e.Workspace, e.Source = "acme", "web"
		e.Timestamp, e.ReceivedAt = at, at
		if e.Context == nil {
			e.Context = json.RawMessage(`{"library":{"name":"analytics.js","version":"4.1.0"},"locale":"en-US"}`)
		}
		out = append(out, e)
	}
	track := func(user, anon, event, props string) {
		e := schemas.Event{Type: schemas.Track, UserID: user, AnonymousID: anon, Event: event, Properties: json.RawMessage(props)}
		if event == "Order Completed" {
			e.Context = json.RawMessage(`{"library":{"name":"analytics.js"},"protocols":{"plan":"shop","planVersion":1}}`)
		}
		add(e)
	}
	page := func(user, anon, path string) {
		add(schemas.Event{Type: schemas.Page, UserID: user, AnonymousID: anon, Name: "Shop", Properties: json.RawMessage(`{"path":"` + path + `"}`),
			Context: json.RawMessage(`{"library":{"name":"analytics.js"},"page":{"path":"` + path + `","url":"https://acme.example` + path + `"}}`)})
	}
	identify := func(user, email, plan string) {
		add(schemas.Event{Type: schemas.Identify, UserID: user, AnonymousID: "anon-" + user, Traits: json.RawMessage(`{"email":"` + email + `","plan":"` + plan + `"}`)})
	}
	identify("user-1", "one@acme.example", "free")
	identify("user-2", "two@acme.example", "free")
	page("user-1", "anon-user-1", "/shoes")
	page("", "anon-9", "/shoes")
	page("user-2", "anon-user-2", "/hats")
	for _, u := range []string{"user-1", "user-2", "user-3"} {
		track(u, "anon-"+u, "Product Viewed", `{"product_id":"p1","price":50}`)
	}
	track("", "anon-9", "Product Viewed", `{"product_id":"p1","price":50}`)
	track("user-1", "anon-user-1", "Product Added", `{"product_id":"p1"}`)
	track("user-2", "anon-user-2", "Product Added", `{"product_id":"p1"}`)
	track("user-1", "anon-user-1", "Order Completed", `{"order_id":"o-1","total":100,"currency":"EUR","item_count":2}`)
	track("user-2", "anon-user-2", "Order Completed", `{"order_id":"o-2","total":50,"currency":"EUR","item_count":1}`)
	identify("user-1", "one@acme.example", "pro")
	// A dotted key beside the nested object of the same path, and a context
	// with page fields (the other tracks have none).
	add(schemas.Event{Type: schemas.Track, UserID: "user-3", AnonymousID: "anon-user-3", Event: "Campaign Opened",
		Properties: json.RawMessage(`{"utm.source":"newsletter","utm":{"source":"ads"}}`),
		Context:    json.RawMessage(`{"library":{"name":"analytics.js"},"page":{"path":"/spring"}}`)})
	return out
}

// textRows renders rows as sorted "key=value" strings.
func textRows(rows []map[string]any) []string {
	var out []string
	for _, r := range rows {
		keys := make([]string, 0, len(r))
		for k := range r {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%v ", k, r[k])
		}
		out = append(out, b.String())
	}
	return out
}
