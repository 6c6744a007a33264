package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// adminTokenFlags are the ways to give the admin API's bearer token:
// --admin-token, --admin-token-file, or SLUICE_ADMIN_TOKEN, in that order.
type adminTokenFlags struct{ token, file string }

func (a *adminTokenFlags) register(f *pflag.FlagSet, otherwise string) {
	f.StringVar(&a.token, "admin-token", "", "admin API bearer token (visible in ps: prefer --admin-token-file or $SLUICE_ADMIN_TOKEN; default: "+otherwise+")")
	f.StringVar(&a.file, "admin-token-file", "", "file holding the admin API bearer token")
}

// resolve returns the token, "" when none is given.
func (a *adminTokenFlags) resolve() (string, error) {
	if a.token != "" && a.file != "" {
		return "", errors.New("--admin-token and --admin-token-file: give one")
	}
	tok := a.token
	if a.file != "" {
		data, err := os.ReadFile(a.file)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		if tok = strings.TrimSpace(string(data)); tok == "" {
			return "", fmt.Errorf("--admin-token-file %s: empty", a.file)
		}
	}
	if tok == "" {
		tok = os.Getenv("SLUICE_ADMIN_TOKEN")
	}
	return tok, nil
}

// apiFlags are the api role's flags shared by `sluice run` and `sluice dev`.
type apiFlags struct {
	publicURL      string
	trustedProxies []string
}

func (a *apiFlags) register(f *pflag.FlagSet) {
	f.StringVar(&a.publicURL, "public-url", "", "where browsers reach the API, e.g. https://events.example.com (default: the scheme and Host of each request)")
	f.StringSliceVar(&a.trustedProxies, "trusted-proxy", nil, "a proxy (IP or CIDR) whose X-Forwarded-For is believed for the client's address; repeatable")
}

// proxies parses --trusted-proxy values.
func (a *apiFlags) proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range a.trustedProxies {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("--trusted-proxy %q: want an IP address or a CIDR prefix", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
