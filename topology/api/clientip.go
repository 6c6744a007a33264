package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/config"
)

// ipPolicy is a source's config.Source.IP.
type ipPolicy uint8

const (
	ipTruncated ipPolicy = iota // the default
	ipFull
	ipNone
)

func ipPolicyOf(s string) ipPolicy {
	switch s {
	case config.IPFull:
		return ipFull
	case config.IPNone:
		return ipNone
	}
	return ipTruncated
}

// clientAddr is the address of the client that sent r: the connection's
// peer, or, when the peer is one of TrustedProxies, the last address of
// X-Forwarded-For that is not a trusted proxy (each proxy appends the peer
// it saw, so the entries left of the last untrusted one are the client's
// to write and are not believed).
func (s *Server) clientAddr(r *http.Request) (netip.Addr, bool) {
	peer, ok := s.peerAddr(r)
	if !ok {
		return netip.Addr{}, false
	}
	if !s.trusted(peer) {
		return peer, true
	}
	hops := r.Header.Values("X-Forwarded-For")
	for i := len(hops) - 1; i >= 0; i-- {
		parts := strings.Split(hops[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer, true // a hop sluice cannot read: stop at the proxy
			}
			if a = a.Unmap(); !s.trusted(a) {
				return a, true
			}
			peer = a
		}
	}
	return peer, true
}

// peerAddr is the address of the connection's other end.
func (s *Server) peerAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return peer.Unmap(), true
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// recordedIP is what policy records of address a: "" for none.
func recordedIP(policy ipPolicy, a netip.Addr) string {
	switch policy {
	case ipNone:
		return ""
	case ipFull:
		return a.String()
	}
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.Addr().String()
}

// setIPs gives each event without a context.ip (absent, null or "") the
// source's recording of the request's address; an ip the event carries is
// kept as sent.
func (s *Server) setIPs(r *http.Request, src *source, events []schemas.Event) {
	if src.ip == ipNone {
		return
	}
	a, ok := s.clientAddr(r)
	if !ok {
		return
	}
	ip := recordedIP(src.ip, a)
	if ip == "" {
		return
	}
	var value []byte
	for i := range events {
		e := &events[i]
		if sent, ok := schemas.MemberString(e.Context, "ip"); ok && sent != "" {
			continue
		}
		if value == nil {
			value = schemas.AppendJSONString(nil, ip)
		}
		e.Context = schemas.SetMember(e.Context, "ip", value)
	}
}

// clientKey is the context key of an admin request's Client.
type clientKey struct{}

// Client is where an admin request came from, as the server resolved it.
type Client struct {
	// Addr is the client's address: the connection's peer ("ip:port"), or
	// when the peer is one of TrustedProxies, the address it forwarded
	// (X-Forwarded-For, "ip").
	Addr string
	// Via is the trusted proxy's "ip:port" when Addr was forwarded; else "".
	Via string
}

// ClientOf returns the Client the server stored in an admin request's
// context; outside one, ok is false.
func ClientOf(ctx context.Context) (c Client, ok bool) {
	c, ok = ctx.Value(clientKey{}).(Client)
	return c, ok
}

// withClient stores r's Client in its context, resolved as clientAddr does.
func (s *Server) withClient(r *http.Request) *http.Request {
	c := Client{Addr: r.RemoteAddr}
	if peer, ok := s.peerAddr(r); ok && s.trusted(peer) {
		if a, ok := s.clientAddr(r); ok && a != peer {
			c = Client{Addr: a.String(), Via: r.RemoteAddr}
		}
	}
	return r.WithContext(context.WithValue(r.Context(), clientKey{}, c))
}
