package sinks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Settings reads a destination's settings (the `settings:` map of sluice.yaml)
// strictly: each getter names the destination and key in its error, the
// first error sticks, and Err reports keys no getter asked for, so a typo
// such as `databse:` is an error rather than a silent default.
type Settings struct {
	dest string
	m    map[string]any
	used map[string]bool
	err  error
}

// ReadSettings starts reading the settings of the destination named dest.
func ReadSettings(dest string, m map[string]any) *Settings {
	return &Settings{dest: dest, m: m, used: map[string]bool{}}
}

// Err returns the first error met, or names the keys nothing read.
func (s *Settings) Err() error {
	if s.err != nil {
		return s.err
	}
	var unknown []string
	for _, k := range slices.Sorted(maps.Keys(s.m)) {
		if !s.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("destination %s: unknown settings %s", s.dest, strings.Join(unknown, ", "))
	}
	return nil
}

func (s *Settings) get(key string) (any, bool) {
	s.used[key] = true
	v, ok := s.m[key]
	return v, ok && v != nil
}

func (s *Settings) fail(key, want string, v any) {
	if s.err == nil {
		s.err = fmt.Errorf("destination %s: setting %s: want %s, got %T %v", s.dest, key, want, v, v)
	}
}

// String returns the key's string, or def when absent.
func (s *Settings) String(key, def string) string {
	v, ok := s.get(key)
	if !ok {
		return def
	}
	str, isStr := v.(string)
	if !isStr {
		s.fail(key, "a string", v)
		return def
	}
	return str
}

// Strings returns a list of strings (a YAML list, or one comma-separated
// string), or def when absent.
func (s *Settings) Strings(key string, def []string) []string {
	v, ok := s.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case string:
		var out []string
		for _, part := range strings.Split(x, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
		return out
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			str, isStr := e.(string)
			if !isStr {
				s.fail(key, "a list of strings", v)
				return def
			}
			out = append(out, str)
		}
		return out
	}
	s.fail(key, "a list of strings", v)
	return def
}

// StringMap returns a map of strings, or nil when absent.
func (s *Settings) StringMap(key string) map[string]string {
	v, ok := s.get(key)
	if !ok {
		return nil
	}
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]string:
		return x
	case map[string]any:
		for k, e := range x {
			str, isStr := e.(string)
			if !isStr {
				s.fail(key+"."+k, "a string", e)
				return nil
			}
			out[k] = str
		}
		return out
	}
	s.fail(key, "a map of strings", v)
	return nil
}

// Int returns the key's integer, or def when absent.
func (s *Settings) Int(key string, def int) int {
	v, ok := s.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case uint64:
		if x <= math.MaxInt {
			return int(x)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) <= 1<<53 {
			return int(x)
		}
	case string:
		if n, err := strconv.Atoi(strings.ReplaceAll(x, "_", "")); err == nil {
			return n
		}
	}
	s.fail(key, "an integer", v)
	return def
}

// Bool returns the key's boolean, or def when absent.
func (s *Settings) Bool(key string, def bool) bool {
	v, ok := s.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case bool:
		return x
	case string:
		if b, err := strconv.ParseBool(x); err == nil {
			return b
		}
	}
	s.fail(key, "true or false", v)
	return def
}

// Duration returns the key's duration ("10s", "1m30s", or a number of
// seconds), or def when absent.
func (s *Settings) Duration(key string, def time.Duration) time.Duration {
	v, ok := s.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case string:
		if d, err := time.ParseDuration(x); err == nil {
			return d
		}
	case int:
		return time.Duration(x) * time.Second
	case float64:
		return time.Duration(x * float64(time.Second))
	}
	s.fail(key, `a duration such as "10s"`, v)
	return def
}

// TLSSettings are the TLS settings every sink reads the same way:
//
//	tls: true                      # use TLS (implied by any other tls* key)
//	tlsCA: /etc/ssl/ca.pem         # CA bundle to verify the server; default the system pool
//	tlsCert: /etc/ssl/client.pem   # client certificate (mutual TLS), with tlsKey
//	tlsKey: /etc/ssl/client.key
//	tlsServerName: ch.internal     # name to verify instead of the host's
//	tlsInsecureSkipVerify: false   # never in production
type TLSSettings struct {
	Enabled            bool
	CAFile             string
	CertFile, KeyFile  string
	ServerName         string
	InsecureSkipVerify bool
}

// TLS reads the TLS settings.
func (s *Settings) TLS() TLSSettings {
	t := TLSSettings{
		CAFile:             s.String("tlsCA", ""),
		CertFile:           s.String("tlsCert", ""),
		KeyFile:            s.String("tlsKey", ""),
		ServerName:         s.String("tlsServerName", ""),
		InsecureSkipVerify: s.Bool("tlsInsecureSkipVerify", false),
	}
	implied := t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify
	t.Enabled = s.Bool("tls", implied)
	return t
}

// Config builds the *tls.Config, or nil when TLS is off. It reads the files.
func (t TLSSettings) Config() (*tls.Config, error) {
	if !t.Enabled {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tlsCA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsCA %s: no PEM certificate in it", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("tlsCert and tlsKey go together")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tlsCert/tlsKey: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
