package api

import (
	"net/http"
	"net/url"
	"strings"
)

// CORS of the tracking and SDK routes. Browsers send with whatever their
// page chose: fetch with credentials: 'include', custom headers, sendBeacon
// with a JSON Blob (a credentialed request behind a preflight). A wildcard
// answers none of those, so the request's Origin is reflected (with Vary:
// Origin), credentials allowed, and a preflight's requested headers allowed.
// Nothing sluice answers reads or sets cookies, so allowing credentials
// grants a page nothing it could not do without them.
//
// A source may list allowedOrigins. A preflight carries no write key, so it
// is answered for any origin some source allows; the request itself, once
// its source is known, is refused (403 origin_not_allowed, without CORS
// headers) when the source does not allow its Origin. Requests without an
// Origin (servers, curl) are never refused by origin.

// originMatcher is one source's allowedOrigins; nil allows every origin.
type originMatcher struct {
	exact    map[string]bool
	suffixes []string // "://" scheme included: "https://.example.com" matches https://a.example.com
}

func newOriginMatcher(origins []string) *originMatcher {
	if len(origins) == 0 {
		return nil
	}
	m := &originMatcher{exact: map[string]bool{}}
	for _, o := range origins {
		o = strings.ToLower(o)
		if scheme, host, ok := strings.Cut(o, "://*."); ok {
			m.suffixes = append(m.suffixes, scheme+"://."+host)
			continue
		}
		m.exact[o] = true
	}
	return m
}

// allows reports whether origin (as a browser sends it) may send.
func (m *originMatcher) allows(origin string) bool {
	if m == nil {
		return true
	}
	origin = strings.ToLower(origin)
	if m.exact[origin] {
		return true
	}
	scheme, host, ok := strings.Cut(origin, "://")
	if !ok {
		return false
	}
	for _, suf := range m.suffixes {
		sScheme, sHost, _ := strings.Cut(suf, "://")
		// "://.example.com" matches a.example.com and a.b.example.com (any
		// port stays part of the host, so it must match too).
		if scheme == sScheme && strings.HasSuffix(host, sHost) && len(host) > len(sHost) {
			return true
		}
	}
	return false
}

// anySourceAllows reports whether a preflight from origin gets an answer.
func (s *Server) anySourceAllows(origin string) bool {
	if s.openOrigins {
		return true
	}
	for _, src := range s.sources {
		if src.origins.allows(origin) {
			return true
		}
	}
	return false
}

// validOrigin reports whether an Origin header is one a browser sends:
// "null" or scheme://host[:port]. Anything else is not reflected.
func validOrigin(o string) bool {
	if o == "" || len(o) > 512 {
		return false
	}
	if o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Scheme != "" && u.Host != "" && u.Path == "" && u.RawQuery == "" && u.User == nil &&
		!strings.ContainsAny(o, " \t\r\n,")
}

// cors answers preflights of a tracking or SDK route and puts CORS headers
// on every other answer; methods are what the route takes besides OPTIONS.
func (s *Server) cors(methods string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
			if validOrigin(origin) && s.anySourceAllows(origin) {
				setAllowOrigin(hd, origin)
				hd.Set("Access-Control-Allow-Methods", methods+", OPTIONS")
				if reqHeaders := r.Header.Get("Access-Control-Request-Headers"); validHeaderList(reqHeaders) {
					hd.Set("Access-Control-Allow-Headers", reqHeaders)
				}
				// Chrome's Private Network Access: a public page sending to a
				// sluice on a private address asks for this.
				if r.Header.Get("Access-Control-Request-Private-Network") == "true" {
					hd.Set("Access-Control-Allow-Private-Network", "true")
				}
				hd.Set("Access-Control-Max-Age", "86400")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		switch {
		case origin == "":
			hd.Set("Access-Control-Allow-Origin", "*")
		case validOrigin(origin) && s.anySourceAllows(origin):
			setAllowOrigin(hd, origin)
		}
		hd.Set("Access-Control-Expose-Headers", "Retry-After, X-RateLimit-Reset")
		h.ServeHTTP(w, r)
	})
}

func setAllowOrigin(hd http.Header, origin string) {
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Allow-Credentials", "true")
}

// dropCORS takes back the CORS headers of an answer to an origin its
// source does not allow, so the page cannot read it either.
func dropCORS(hd http.Header) {
	hd.Del("Access-Control-Allow-Origin")
	hd.Del("Access-Control-Allow-Credentials")
	hd.Del("Access-Control-Expose-Headers")
}

// checkOrigin refuses a browser request from an origin src does not allow.
func checkOrigin(w http.ResponseWriter, r *http.Request, src *source) *apiError {
	origin := r.Header.Get("Origin")
	if origin == "" || src.origins.allows(origin) {
		return nil
	}
	dropCORS(w.Header())
	return newError(http.StatusForbidden, codeOriginNotAllowed,
		"origin "+origin+" may not send with this write key (sources[].allowedOrigins)")
}

// validHeaderList reports whether v is a comma-separated list of header
// names, safe to reflect.
func validHeaderList(v string) bool {
	if v == "" || len(v) > 1024 {
		return false
	}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			return false
		}
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
				return false
			}
		}
	}
	return true
}
