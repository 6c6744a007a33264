// Package api is the api role: the Segment-compatible tracking API, the
// admin API mount point, /healthz, /readyz and /metrics on one listener.
//
// A tracking request is answered 200 {"success":true} only once the broker
// acknowledged every one of its events on events.raw (idempotent producer,
// acks from all in-sync replicas). Everything else is a JSON error: 400 and
// 413 for input that breaks a rule (also recorded on the deadletter topic,
// sampled per source; refused input spends the source's rate limit),
// 401, 415, 429 with Retry-After, and 503 when the broker does not take the
// events. Bad input never gets a 5xx; a panic is caught, counted and answered
// 500. docs/tracking-api.md is the page for SDK users.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// Config describes the api role. Workspace and Producer are required; every
// other field has a working zero value.
type Config struct {
	// Workspace is the pipeline config: workspace name, sources with their
	// write keys and rate limits, topic prefix. Defaults are applied.
	Workspace config.Config
	// Topics names the topics; default topics.Names{Prefix: Workspace.TopicPrefix}.
	Topics topics.Names
	// Producer writes events.raw and deadletter records; create it with
	// ProducerOpts. The server does not close it.
	Producer *kgo.Client
	// AdminToken guards the Admin routes (Authorization: Bearer). Required
	// when Admin is not empty.
	AdminToken string
	// Admin are other roles' admin handlers, mounted behind AdminToken.
	Admin []Route
	// AdminGuard, when set, guards the Admin routes instead of AdminToken
	// alone: personal tokens, each route's Scope, the audit trail (package
	// topology/admin, which takes AdminToken as its bootstrap token).
	AdminGuard AdminGuard
	// Registry receives the server's metrics and is served on /metrics;
	// default a new registry of the server's own.
	Registry *prometheus.Registry
	// Logger receives request failures; default discards.
	Logger *slog.Logger
	// Limits bound tracking input; zero fields take Segment's limits.
	Limits schemas.Limits
	// ProduceTimeout bounds how long a request waits for the broker's
	// acknowledgement before it is answered 503. Default 10s.
	ProduceTimeout time.Duration
	// DeadLetterBodyBytes bounds the body prefix kept in a dead-letter
	// record. Default 4 KiB.
	DeadLetterBodyBytes int
	// ShutdownTimeout bounds how long Serve waits for in-flight requests
	// once its context is done. Default 15s.
	ShutdownTimeout time.Duration
	// MaxConnections caps the connections Serve holds open at once; past it
	// new connections wait in the kernel's accept queue. Default 10,000.
	MaxConnections int
	// ReadTimeout bounds reading one request, headers and body, from its
	// first byte; a client still sending then is cut off. Default 20s: a
	// 500 KiB batch needs 16s at 256 kbit/s. Headers alone get at most 5s.
	ReadTimeout time.Duration
	// StrangerRate is the requests per second a client network (an IPv4
	// address, an IPv6 /64) may send without a valid write key: each is
	// answered 401 and charged, and past the budget 429 without the body
	// being read. Default 10 (bursts of 10).
	StrangerRate float64
	// Keys seals events.raw and deadletter values with the subjects' data
	// keys, creating a subject's key before its first event is produced
	// (package processors/shred); a follower of the keys topic must keep
	// its table applied. Nil: values are written in plaintext.
	Keys *shred.Creator

	// PublicURL is where browsers reach this API, such as
	// https://events.example.com: the host analytics.js is told to send to.
	// Default: the scheme and Host of each settings request.
	PublicURL string
	// TrustedProxies are the proxies whose X-Forwarded-For (the client's
	// address, see Source.IP) and X-Forwarded-Proto/Host are believed.
	// Default none: the connection's peer is the client.
	TrustedProxies []netip.Prefix
	// AnalyticsJSDir holds the @segment/analytics-next bundle served to
	// Segment's snippet; default DefaultAnalyticsJSDir().
	AnalyticsJSDir string
}

// Route is one admin handler: a net/http ServeMux pattern such as
// "POST /v1/regulations" or "/v1/tracking-plans/", and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
	// Scope is what a caller must be allowed to do to use the route, e.g.
	// "regulations:file" (package topology/admin); AdminGuard checks it.
	// Empty: the bootstrap token only.
	Scope string
}

// Defaults of Config.
const (
	DefaultProduceTimeout      = 10 * time.Second
	DefaultDeadLetterBodyBytes = 4 << 10
	DefaultShutdownTimeout     = 15 * time.Second
	DefaultMaxConnections      = 10_000
	DefaultReadTimeout         = 20 * time.Second
	DefaultStrangerRate        = 10
	maxReadHeaderTimeout       = 5 * time.Second
)

func (c Config) withDefaults() Config {
	c.Workspace = c.Workspace.WithDefaults()
	if c.Topics.Prefix == "" {
		c.Topics.Prefix = c.Workspace.TopicPrefix
	}
	if c.Registry == nil {
		c.Registry = prometheus.NewRegistry()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Limits = c.Limits.WithDefaults()
	if c.ProduceTimeout <= 0 {
		c.ProduceTimeout = DefaultProduceTimeout
	}
	if c.DeadLetterBodyBytes <= 0 {
		c.DeadLetterBodyBytes = DefaultDeadLetterBodyBytes
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.StrangerRate <= 0 {
		c.StrangerRate = DefaultStrangerRate
	}
	if c.AnalyticsJSDir == "" {
		c.AnalyticsJSDir = DefaultAnalyticsJSDir()
	}
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if err := c.Workspace.WithDefaults().Validate(); err != nil {
		return fmt.Errorf("api: Workspace: %w", err)
	}
	if err := checkProducer(c.Producer); err != nil {
		return err
	}
	if c.PublicURL != "" {
		if _, err := parsePublicURL(c.PublicURL); err != nil {
			return err
		}
	}
	if len(c.Admin) > 0 && c.AdminToken == "" && c.AdminGuard == nil {
		return errors.New("api: AdminToken: required when Admin routes are given without an AdminGuard")
	}
	for i, r := range c.Admin {
		if r.Pattern == "" || r.Handler == nil {
			return fmt.Errorf("api: Admin[%d]: needs a Pattern and a Handler", i)
		}
	}
	return nil
}

// Server is the api role's HTTP server.
type Server struct {
	cfg             Config
	log             *slog.Logger
	workspace       string
	sources         map[string]*source // by write key
	producer        *kgo.Client
	maxBuffered     int64
	rawTopic        string
	deadLetterTopic string
	dec             schemas.Decoder
	metrics         *metrics
	handler         http.Handler
	states          sync.Pool
	draining        atomic.Bool
	publicURL       *url.URL // nil: from each request
	ajs             *analyticsJS
	openOrigins     bool         // some source allows every origin
	strangers       *addrLimiter // requests without a valid write key
}

// source is a config source at run time.
type source struct {
	name        string
	limiter     *limiter // nil: unlimited
	deadLetters *limiter // samples the dead letters of its refused input
	accepted    prometheus.Counter
	origins     *originMatcher // nil: every origin
	ip          ipPolicy
}

// New builds a server. It fails on a bad Config, a producer configured to
// acknowledge less than every replica, metrics already registered on
// Registry, or an admin pattern that clashes with another route.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:             cfg,
		log:             cfg.Logger,
		workspace:       cfg.Workspace.Workspace,
		sources:         make(map[string]*source, len(cfg.Workspace.Sources)),
		producer:        cfg.Producer,
		rawTopic:        cfg.Topics.Of(topics.Raw),
		deadLetterTopic: cfg.Topics.Of(topics.DeadLetter),
		dec:             schemas.Decoder{Limits: cfg.Limits},
		metrics:         m,
		ajs:             &analyticsJS{dir: cfg.AnalyticsJSDir, files: map[string][]byte{}},
		strangers:       newAddrLimiter(cfg.StrangerRate),
	}
	if cfg.PublicURL != "" {
		s.publicURL, _ = parsePublicURL(cfg.PublicURL)
	}
	if v, ok := cfg.Producer.OptValue(kgo.MaxBufferedRecords).(int64); ok {
		s.maxBuffered = v
	}
	now := time.Now()
	for _, src := range cfg.Workspace.Sources {
		rs := &source{name: src.Name, accepted: m.eventsAccepted.WithLabelValues(src.Name),
			origins: newOriginMatcher(src.AllowedOrigins), ip: ipPolicyOf(src.IP)}
		if rs.origins == nil {
			s.openOrigins = true
		}
		if src.RateLimit > 0 {
			rs.limiter = newLimiter(src.RateLimit, now)
		}
		dlRate := src.DeadLettersPerSecond
		if dlRate <= 0 {
			dlRate = config.DefaultDeadLettersPerSecond
		}
		rs.deadLetters = newLimiter(dlRate, now)
		s.sources[src.WriteKey] = rs
	}
	h, err := s.routes()
	if err != nil {
		return nil, err
	}
	s.handler = h
	return s, nil
}

// Handler is the server's whole HTTP surface, for tests and for callers that
// run their own http.Server.
func (s *Server) Handler() http.Handler { return s.handler }

// Serve answers on ln until ctx is done, then stops taking requests, marks
// itself not ready, and waits up to ShutdownTimeout for in-flight requests
// (which wait for their acknowledgements) before it returns. It returns nil
// after a clean shutdown. It holds at most MaxConnections connections open
// and cuts off a request not read within ReadTimeout.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: min(maxReadHeaderTimeout, s.cfg.ReadTimeout),
		ReadTimeout:       s.cfg.ReadTimeout,
		WriteTimeout:      s.cfg.ProduceTimeout + time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		// Requests outlive the cancellation of ctx: shutdown drains them.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(s.limitListener(ln)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) && err == nil {
		err = serveErr
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}

func itoa(n int) string { return strconv.Itoa(n) }
