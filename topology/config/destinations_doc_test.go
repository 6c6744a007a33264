package config_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/sinks/kafka"
	"github.com/sluicehq/sluice/sinks/webhook"
	"github.com/sluicehq/sluice/topology/config"
)

// destinationsDoc is the page these tests keep honest.
const destinationsDoc = "../../docs/destinations.md"

// fromSettings is each destination type's settings reader.
var fromSettings = map[string]func(dest string, settings map[string]any) error{
	config.DestinationClickHouse: func(d string, s map[string]any) error { _, err := clickhouse.FromSettings(d, s); return err },
	config.DestinationWebhook:    func(d string, s map[string]any) error { _, err := webhook.FromSettings(d, s); return err },
	config.DestinationKafka:      func(d string, s map[string]any) error { _, err := kafka.FromSettings(d, s); return err },
}

// minimalSettings are the least settings each type accepts; the key tests
// add one documented key at a time to them.
var minimalSettings = map[string]map[string]any{
	config.DestinationClickHouse: {},
	config.DestinationWebhook:    {"url": "https://example.com/events"},
	config.DestinationKafka:      {"topic": "t", "brokers": "b:9092"},
}

// getterTypes maps a sinks.Settings getter to the type the docs name.
var getterTypes = map[string]string{
	"String":    "string",
	"Strings":   "list of strings",
	"Int":       "integer",
	"Bool":      "boolean",
	"Duration":  "duration",
	"StringMap": "map of strings",
}

// docPage is what the tests read from the page: its fenced blocks by
// language, and its settings tables by section ("clickhouse", "webhook",
// "kafka", or "tls" for the keys every type reads).
type docPage struct {
	blocks map[string][]string
	tables map[string]map[string]string // section → key → type
}

var (
	typeHeading = regexp.MustCompile("^## .*`type: ([a-z]+)`")
	backticked  = regexp.MustCompile("^`([A-Za-z]+)`$")
)

func readDestinationsDoc(t *testing.T) docPage {
	t.Helper()
	data, err := os.ReadFile(destinationsDoc)
	if err != nil {
		t.Fatal(err)
	}
	page := docPage{blocks: map[string][]string{}, tables: map[string]map[string]string{}}
	var (
		fence, section string
		block          strings.Builder
		inFence        bool
		prevTableLine  bool
		settingsTable  bool
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if inFence {
				page.blocks[fence] = append(page.blocks[fence], block.String())
				block.Reset()
			}
			inFence, fence = !inFence, strings.TrimSpace(strings.TrimPrefix(line, "```"))
			continue
		}
		if inFence {
			block.WriteString(line + "\n")
			continue
		}
		if strings.HasPrefix(line, "## ") {
			section = ""
			if m := typeHeading.FindStringSubmatch(line); m != nil {
				section = m[1]
			} else if strings.HasPrefix(line, "## TLS") {
				section = "tls"
			}
		}
		isTable := strings.HasPrefix(line, "|")
		if !isTable {
			prevTableLine = false
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if !prevTableLine { // a header row
			settingsTable = cells[0] == "setting"
			if settingsTable && (section == "" || len(cells) != 4 || cells[1] != "type" || cells[2] != "default") {
				t.Fatalf("%s:%d: a settings table outside a type's section, or not | setting | type | default | what it does |", destinationsDoc, n)
			}
		}
		prevTableLine = true
		if !settingsTable || strings.HasPrefix(cells[0], "---") || cells[0] == "setting" {
			continue
		}
		m := backticked.FindStringSubmatch(cells[0])
		if m == nil {
			t.Fatalf("%s:%d: the first cell of a settings row must be one `key`, got %q", destinationsDoc, n, cells[0])
		}
		if page.tables[section] == nil {
			page.tables[section] = map[string]string{}
		}
		if _, dup := page.tables[section][m[1]]; dup {
			t.Fatalf("%s:%d: %s is documented twice", destinationsDoc, n, m[1])
		}
		page.tables[section][m[1]] = cells[1]
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if inFence {
		t.Fatalf("%s: a fenced block is not closed", destinationsDoc)
	}
	return page
}

// documented returns the keys the page documents for a destination type.
func (p docPage) documented(typ string) map[string]string {
	out := maps.Clone(p.tables[typ])
	maps.Copy(out, p.tables["tls"])
	return out
}

// setExampleEnv sets the environment variables the settings' …Env keys
// name, so that FromSettings can read them.
func setExampleEnv(t *testing.T, settings map[string]any) {
	for k, v := range settings {
		if name, ok := v.(string); ok && strings.HasSuffix(k, "Env") {
			t.Setenv(name, "doc-example-"+strings.ToLower(name))
		}
	}
}

// TestDestinationsDocExamples parses every ```yaml block of the page as
// sluice.yaml and reads every destination's settings with its type's
// FromSettings; each destination type needs at least one example.
func TestDestinationsDocExamples(t *testing.T) {
	page := readDestinationsDoc(t)
	seen := map[string]bool{}
	for i, y := range page.blocks["yaml"] {
		cfg, err := config.Parse([]byte(y))
		if err != nil {
			t.Errorf("yaml example %d: %v\n%s", i+1, err, y)
			continue
		}
		if len(cfg.Destinations) == 0 {
			t.Errorf("yaml example %d has no destination:\n%s", i+1, y)
		}
		for _, d := range cfg.Destinations {
			setExampleEnv(t, d.Settings)
			if err := fromSettings[d.Type](d.Name, d.Settings); err != nil {
				t.Errorf("yaml example %d: %v", i+1, err)
			}
			seen[d.Type] = true
		}
	}
	for typ := range fromSettings {
		if !seen[typ] {
			t.Errorf("no yaml example of a %s destination", typ)
		}
	}
}

// TestDestinationsDocKeys checks the settings tables against the code both
// ways: each documented key is accepted at run time by its type's
// FromSettings (which refuses unknown keys, checked here too), and the
// documented keys and types are exactly those FromSettings reads, found in
// its source.
func TestDestinationsDocKeys(t *testing.T) {
	page := readDestinationsDoc(t)
	if len(page.tables["tls"]) == 0 {
		t.Fatal("no TLS settings table")
	}
	for typ, read := range fromSettings {
		t.Run(typ, func(t *testing.T) {
			doc := page.documented(typ)
			if len(page.tables[typ]) == 0 {
				t.Fatalf("no settings table for type %s", typ)
			}
			base := minimalSettings[typ]
			if err := read("doc", base); err != nil {
				t.Fatalf("minimal settings refused: %v", err)
			}
			// An unknown key must be refused, or accepting the documented
			// keys below would prove nothing.
			if err := read("doc", with(base, "notASetting", nil)); err == nil {
				t.Fatal("FromSettings accepted an unknown key")
			}
			for key := range doc {
				// A key without a value counts as absent, so this tests that
				// the key is known, whatever values it takes.
				s := base
				if _, ok := base[key]; !ok {
					s = with(base, key, nil)
				}
				if err := read("doc", s); err != nil {
					t.Errorf("documented key %s: %v", key, err)
				}
			}

			code := settingsReadBy(t, filepath.Join("../../sinks", typ))
			for _, key := range slices.Sorted(maps.Keys(code)) {
				switch docType, ok := doc[key]; {
				case !ok:
					t.Errorf("FromSettings reads %s (%s), which the page does not document", key, code[key])
				case docType != code[key]:
					t.Errorf("key %s: the page says %q, FromSettings reads a %s", key, docType, code[key])
				}
			}
			for _, key := range slices.Sorted(maps.Keys(doc)) {
				if _, ok := code[key]; !ok {
					t.Errorf("the page documents %s, which FromSettings does not read", key)
				}
			}
		})
	}
}

func with(m map[string]any, k string, v any) map[string]any {
	out := maps.Clone(m)
	out[k] = v
	return out
}

// settingsReadBy returns the keys, with their types, that the FromSettings
// function in the Go package at dir reads: the string-literal first
// argument of every sinks.Settings getter it calls, plus the TLS keys when
// it calls TLS().
func settingsReadBy(t *testing.T, dir string) map[string]string {
	t.Helper()
	fn := findFunc(t, dir, "FromSettings", false)
	keys := gettersIn(fn)
	if callsMethod(fn, "TLS") {
		maps.Copy(keys, gettersIn(findFunc(t, "../../sinks", "TLS", true)))
	}
	if len(keys) == 0 {
		t.Fatalf("%s: FromSettings reads no keys that this test can see", dir)
	}
	return keys
}

func findFunc(t *testing.T, dir, name string, method bool) *ast.FuncDecl {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name && (fd.Recv != nil) == method {
				return fd
			}
		}
	}
	t.Fatalf("no func %s in %s", name, dir)
	return nil
}

func gettersIn(fn *ast.FuncDecl) map[string]string {
	keys := map[string]string{}
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		typ, isGetter := getterTypes[sel.Sel.Name]
		lit, isLit := call.Args[0].(*ast.BasicLit)
		if isGetter && isLit && lit.Kind == token.STRING {
			keys[strings.Trim(lit.Value, "\"`")] = typ
		}
		return true
	})
	return keys
}

func callsMethod(fn *ast.FuncDecl, name string) bool {
	found := false
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && len(call.Args) == 0 {
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == name {
				found = true
			}
		}
		return !found
	})
	return found
}

// TestDestinationsDocWebhookDelete sends the deletion the page's ```http
// block shows through the webhook sink configured by the page's webhook
// example, and checks that the request is exactly the one shown: method,
// path, host, every header (signature and idempotency key included) and
// the body's bytes.
func TestDestinationsDocWebhookDelete(t *testing.T) {
	page := readDestinationsDoc(t)
	if len(page.blocks["http"]) != 1 {
		t.Fatalf("want one http block, found %d", len(page.blocks["http"]))
	}
	want := parseHTTPBlock(t, page.blocks["http"][0])

	var settings map[string]any
	for _, y := range page.blocks["yaml"] {
		cfg, err := config.Parse([]byte(y))
		if err != nil {
			continue // TestDestinationsDocExamples reports it
		}
		for _, d := range cfg.Destinations {
			if d.Type == config.DestinationWebhook && d.Settings["deleteUrl"] != nil {
				settings = d.Settings
			}
		}
	}
	if settings == nil {
		t.Fatal("no webhook example with deleteUrl")
	}
	setExampleEnv(t, settings)
	cfg, err := webhook.FromSettings("doc", settings)
	if err != nil {
		t.Fatal(err)
	}
	var got *http.Request
	var gotBody []byte
	cfg.Transport = roundTrip(func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		got, gotBody = r, body
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Header: http.Header{}, Request: r}, err
	})
	sink, err := webhook.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close(t.Context())
	deleter, ok := sink.(sinks.Deleter)
	if !ok {
		t.Fatal("the webhook example with deleteUrl is not a sinks.Deleter")
	}
	var body webhook.DeleteBody
	if err := json.Unmarshal(want.body, &body); err != nil {
		t.Fatalf("the http block's body: %v", err)
	}
	if _, err := deleter.Delete(t.Context(), sinks.DeleteRequest{Workspace: body.Workspace, UserIDs: body.UserIDs, AnonymousIDs: body.AnonymousIDs}); err != nil {
		t.Fatal(err)
	}

	if got.Method != want.method || got.URL.RequestURI() != want.target {
		t.Errorf("request line: sent %s %s, the page shows %s %s", got.Method, got.URL.RequestURI(), want.method, want.target)
	}
	if host := want.header.Get("Host"); host != got.URL.Host {
		t.Errorf("Host: sent %q, the page shows %q", got.URL.Host, host)
	}
	want.header.Del("Host")
	// The signature carries the time of sending: the page's must verify at
	// its own time, the one sent at now.
	pageSig, sentSig := want.header.Get(webhook.SignatureHeader), got.Header.Get(webhook.SignatureHeader)
	want.header.Del(webhook.SignatureHeader)
	got.Header.Del(webhook.SignatureHeader)
	key := want.header.Get(webhook.IdempotencyHeader)
	if err := webhook.Verify(pageSig, key, want.body, signedAt(t, pageSig), cfg.Secret); err != nil {
		t.Errorf("the page's signature %q does not verify: %v", pageSig, err)
	}
	if err := webhook.Verify(sentSig, key, gotBody, time.Now(), cfg.Secret); err != nil {
		t.Errorf("the sent signature %q does not verify: %v", sentSig, err)
	}
	if !verifiedBySnippet(t, page, cfg.Secret, pageSig, key, want.body, signedAt(t, pageSig)) {
		t.Errorf("the page's Go snippet refuses the page's own request")
	}
	if verifiedBySnippet(t, page, cfg.Secret, pageSig, key, want.body, signedAt(t, pageSig).Add(6*time.Minute)) {
		t.Errorf("the page's Go snippet accepts the request replayed 6 minutes later")
	}
	for _, k := range slices.Sorted(maps.Keys(got.Header)) {
		if g, w := got.Header.Get(k), want.header.Get(k); g != w {
			t.Errorf("header %s: sent %q, the page shows %q", k, g, w)
		}
	}
	for k := range want.header {
		if _, ok := got.Header[k]; !ok {
			t.Errorf("the page shows header %s, which is not sent", k)
		}
	}
	if !bytes.Equal(gotBody, want.body) {
		t.Errorf("body:\nsent %s\npage %s", gotBody, want.body)
	}
}

// signedAt is the time in a signature header's t=.
func signedAt(t *testing.T, header string) time.Time {
	t.Helper()
	ts, _, _ := strings.Cut(strings.TrimPrefix(header, "t="), ",")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("signature %q: no t=", header)
	}
	return time.Unix(sec, 0)
}

// verifiedBySnippet compiles the page's Go verification snippet, as a
// receiver would paste it, and asks it about one request.
func verifiedBySnippet(t *testing.T, page docPage, secret, header, key string, body []byte, now time.Time) bool {
	t.Helper()
	var snippet string
	for _, b := range page.blocks["go"] {
		if strings.Contains(b, "func verified(") {
			snippet = b
		}
	}
	if snippet == "" {
		t.Fatal("no Go block with func verified on the page")
	}
	dir := t.TempDir()
	main := "package main\n\n" + strings.Replace(snippet, "import (", "import (\n\t\"fmt\"\n\t\"os\"", 1) + `
func main() {
	now, _ := time.Parse(time.RFC3339, os.Args[5])
	fmt.Print(verified([]byte(os.Args[1]), os.Args[2], os.Args[3], []byte(os.Args[4]), now))
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(main), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module snippet\n\ngo 1.22\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", ".", secret, header, key, string(body), now.UTC().Format(time.RFC3339))
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the page's Go snippet does not run: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out)) == "true"
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type httpBlock struct {
	method, target string
	header         http.Header
	body           []byte
}

// parseHTTPBlock reads "METHOD target HTTP/1.1", header lines, a blank
// line and a one-line body.
func parseHTTPBlock(t *testing.T, block string) httpBlock {
	t.Helper()
	head, body, ok := strings.Cut(block, "\n\n")
	if !ok {
		t.Fatalf("http block without a blank line before the body:\n%s", block)
	}
	lines := strings.Split(head, "\n")
	reqLine := strings.Fields(lines[0])
	if len(reqLine) != 3 {
		t.Fatalf("http block's request line %q", lines[0])
	}
	h := httpBlock{method: reqLine[0], target: reqLine[1], header: http.Header{}, body: []byte(strings.TrimSuffix(body, "\n"))}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("http block's header line %q", l)
		}
		h.header.Add(k, strings.TrimSpace(v))
	}
	return h
}
