package chlocal

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// A web page the developer visits can send requests to a server on loopback:
// a cross-origin POST with Content-Type text/plain needs no preflight, and an
// image or link needs no script at all. Through DNS rebinding (a name of the
// page's site that resolves to 127.0.0.1) the page can even read the answers.
// Clients of this server (clickhouse-go, @clickhouse/client on Node, curl)
// send no Origin and no Sec-Fetch-Site, and name the address they connect to
// in Host; browsers send Origin with every cross-origin request and with
// every POST, and Sec-Fetch-Site with every request. So the server refuses a
// request with an Origin, with a Sec-Fetch-Site other than "none" (the user
// typed the URL), or with a Host that does not name it, and it never sends
// CORS headers. Host is checked by name only: a rebinding page controls the
// name, and proxies and tunnels on loopback send the port they listen on.

// guardCrossSite refuses requests that come from web pages or through a host
// name that is not the server's, before any other handling.
func (s *Server) guardCrossSite(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ex := s.hosts.refusal(r); ex != nil {
			s.log.Debug("request refused", "host", r.Host, "origin", r.Header.Get("Origin"), "error", ex.Message)
			s.writeException(w, &request{}, newQueryID(), ex)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hostCheck knows the host names in a Host header that name this server:
// localhost and loopback addresses, and with AllowNonLoopback the configured
// listen host.
type hostCheck struct {
	// name is the configured listen host when it is not loopback (allowed
	// with AllowNonLoopback); "" otherwise.
	name string
	// anyIP accepts every IP-literal host: the server listens on all
	// interfaces with AllowNonLoopback. Rebinding needs a DNS name.
	anyIP bool
}

// newHostCheck makes the check for a server configured with addr (host:port).
func newHostCheck(addr string, allowNonLoopback bool) hostCheck {
	var h hostCheck
	if loopback, _ := isLoopback(addr); loopback || !allowNonLoopback {
		return h
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip, err := netip.ParseAddr(host); host == "" || err == nil && ip.IsUnspecified() {
		h.anyIP = true
	} else {
		h.name = host
	}
	return h
}

// refusal returns why a request is refused, or nil.
func (h hostCheck) refusal(r *http.Request) *chdb.Exception {
	if origin, ok := r.Header["Origin"]; ok {
		return accessDenied("Requests from web pages are refused: the request has an Origin header (%q). The local ClickHouse serves clients on this machine, not browsers", strings.Join(origin, ", "))
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "none" {
		return accessDenied("Requests from web pages are refused: the request has Sec-Fetch-Site %q. The local ClickHouse serves clients on this machine, not browsers", site)
	}
	if !h.allowed(r.Host) {
		return accessDenied("Host %q does not name this server: requests through other host names are refused (DNS rebinding). Use 127.0.0.1, localhost or [::1]", r.Host)
	}
	return nil
}

// allowed reports whether a Host header value (host or host:port) names
// this server.
func (h hostCheck) allowed(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") || h.name != "" && strings.EqualFold(host, h.name) {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && (ip.IsLoopback() || h.anyIP)
}
