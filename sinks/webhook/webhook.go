// Package webhook delivers event batches to an HTTP endpoint.
//
// Each batch is one POST of {"batch": [event, …]} (events in the routed
// format of the dest.<name> topic), carrying an Idempotency-Key derived from
// the batch's topic, partition and offsets and, when a secret is set, an
// X-Sluice-Signature over the time, that key and the exact body (see Sign),
// which receivers refuse outside SignatureTolerance. URLs reach logs and
// errors only through Redact. 2xx is success; 408, 429 and 5xx are retryable
// (Retry-After is honoured through sinks.RetryAfter); other statuses,
// redirects included, are permanent.
//
// Delivery is at-least-once: after a crash between delivery and commit the
// same batch comes again with the same Idempotency-Key, which the receiver
// must use to drop the copy (or drop events by messageId, which also covers
// a re-delivery cut differently).
//
// With deleteUrl set, the sink is a sinks.Deleter: it POSTs
// {"workspace", "userIds", "anonymousIds"}, signed the same way, and a 2xx
// answer is the destination's acknowledgement.
package webhook

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/sluicehq/sluice/sinks"
)

// Header names.
const (
	SignatureHeader   = "X-Sluice-Signature"
	IdempotencyHeader = "Idempotency-Key"
)

// Config configures a webhook destination.
type Config struct {
	// URL receives the batches. Required. Setting `url`.
	URL string
	// DeleteURL receives deletion requests; empty means the destination
	// cannot delete. Setting `deleteUrl`.
	DeleteURL string
	// Secret signs every request (see Sign); empty sends no signature.
	// Setting `secret`, or `secretEnv` naming an environment variable that
	// holds it.
	Secret string
	// PreviousSecret is also signed with, during a rotation, until every
	// receiver knows Secret; needs Secret. Setting `previousSecret`, or
	// `previousSecretEnv`.
	PreviousSecret string
	// Headers are sent with every request (e.g. Authorization). Setting
	// `headers`, a map.
	Headers map[string]string
	// Timeout bounds each request, connecting included; default 10s.
	// Setting `timeout`.
	Timeout time.Duration
	// TLS configures HTTPS; see sinks.TLSSettings for the keys.
	TLS sinks.TLSSettings
	// BatchEvents, BatchBytes and BatchWait are the Limits; defaults 500
	// events, 1 MiB, 1s. InFlight is the concurrent requests; default 4.
	// Settings `batchEvents`, `batchBytes`, `batchWait`, `inFlight`.
	BatchEvents int
	BatchBytes  int
	BatchWait   time.Duration
	InFlight    int
	// Logger receives failed requests; default discards.
	Logger *slog.Logger
	// Transport replaces the HTTP transport (tests); default one built from
	// TLS.
	Transport http.RoundTripper
}

// FromSettings reads a destination's settings into a Config.
func FromSettings(dest string, settings map[string]any) (Config, error) {
	r := sinks.ReadSettings(dest, settings)
	c := Config{
		URL:            r.String("url", ""),
		DeleteURL:      r.String("deleteUrl", ""),
		Secret:         r.String("secret", ""),
		PreviousSecret: r.String("previousSecret", ""),
		Timeout:        r.Duration("timeout", 0),
		TLS:            r.TLS(),
		BatchEvents:    r.Int("batchEvents", 0),
		BatchBytes:     r.Int("batchBytes", 0),
		BatchWait:      r.Duration("batchWait", 0),
		InFlight:       r.Int("inFlight", 0),
	}
	var err error
	if c.Secret, err = secretFromEnv(dest, "secretEnv", r.String("secretEnv", ""), c.Secret); err != nil {
		return c, err
	}
	if c.PreviousSecret, err = secretFromEnv(dest, "previousSecretEnv", r.String("previousSecretEnv", ""), c.PreviousSecret); err != nil {
		return c, err
	}
	c.Headers = r.StringMap("headers")
	if err := r.Err(); err != nil {
		return c, err
	}
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("destination %s: %w", dest, err)
	}
	return c, nil
}

// secretFromEnv returns the value of the environment variable env names
// (setting's value), or value when env is empty. An unset or empty variable
// is an error: an empty secret would send unsigned requests without a word.
func secretFromEnv(dest, setting, env, value string) (string, error) {
	if env == "" {
		return value, nil
	}
	v, ok := os.LookupEnv(env)
	if !ok || v == "" {
		return "", fmt.Errorf("destination %s: setting %s: environment variable %s is not set or empty", dest, setting, env)
	}
	return v, nil
}

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = 10 * time.Second
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = 500
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 1 << 20
	}
	if c.BatchWait == 0 {
		c.BatchWait = time.Second
	}
	if c.InFlight == 0 {
		c.InFlight = 4
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first unusable field.
func (c Config) Validate() error {
	for _, u := range []struct{ name, v string }{{"url", c.URL}, {"deleteUrl", c.DeleteURL}} {
		if u.v == "" && u.name == "deleteUrl" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("webhook: %s %q: want an http or https URL", u.name, Redact(u.v))
		}
	}
	if c.PreviousSecret != "" && c.Secret == "" {
		return errors.New("webhook: previousSecret needs secret: it is signed with during a rotation only")
	}
	if c.Timeout < 0 || c.BatchEvents < 0 || c.BatchBytes < 0 || c.BatchWait < 0 || c.InFlight < 0 {
		return errors.New("webhook: timeout, batchEvents, batchBytes, batchWait and inFlight must not be negative")
	}
	return nil
}

// secrets are the secrets requests are signed with, the current one first.
func (c Config) secrets() []string {
	if c.PreviousSecret == "" {
		return []string{c.Secret}
	}
	return []string{c.Secret, c.PreviousSecret}
}

// Sink posts batches to a webhook. It is not a sinks.Deleter; see Open.
type Sink struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// DeletingSink is a Sink whose destination takes deletion requests.
type DeletingSink struct{ *Sink }

var (
	_ sinks.Sink    = (*Sink)(nil)
	_ sinks.Deleter = DeletingSink{}
)

// Open returns the sink: a *Sink, or a DeletingSink when DeleteURL is set,
// so that a type assertion to sinks.Deleter tells the truth.
func Open(cfg Config) (sinks.Sink, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		tlsCfg, err := cfg.TLS.Config()
		if err != nil {
			return nil, fmt.Errorf("webhook: %w", err)
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsCfg
		t.MaxIdleConnsPerHost = cfg.InFlight
		tr = t
	}
	s := &Sink{cfg: cfg, client: &http.Client{
		Transport: tr,
		// A redirect answers a POST with a GET elsewhere: not a delivery.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	if cfg.DeleteURL != "" {
		return DeletingSink{s}, nil
	}
	return s, nil
}

// Limits are the configured batch bounds.
func (s *Sink) Limits() sinks.Limits {
	return sinks.Limits{MaxEvents: s.cfg.BatchEvents, MaxBytes: s.cfg.BatchBytes, MaxWait: s.cfg.BatchWait, MaxInFlight: s.cfg.InFlight}
}

// Close waits for requests in flight and drops idle connections.
func (s *Sink) Close(ctx context.Context) error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	if already {
		return nil
	}
	done := make(chan struct{})
	go func() { s.inflight.Wait(); close(done) }()
	defer s.client.CloseIdleConnections()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sink) enter() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("webhook: %w", sinks.ErrClosed)
	}
	s.inflight.Add(1)
	return nil
}

// Write posts the batch as one request. An empty batch posts nothing.
func (s *Sink) Write(ctx context.Context, b sinks.Batch) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.inflight.Done()
	if err := b.Validate(); err != nil {
		return err
	}
	if len(b.Events) == 0 {
		return nil
	}
	body := make([]byte, 0, 512*len(b.Events))
	body = append(body, `{"batch":[`...)
	for i := range b.Events {
		if i > 0 {
			body = append(body, ',')
		}
		body = b.Events[i].AppendRaw(body)
	}
	body = append(body, "]}"...)
	_, err := s.post(ctx, s.cfg.URL, body, b.Token())
	return err
}

// post sends one signed request and returns the response body's start.
func (s *Sink) post(ctx context.Context, url string, body []byte, key string) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("webhook: %w", err)
	}
	for k, v := range s.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sluice-webhook/1")
	req.Header.Set(IdempotencyHeader, key)
	if s.cfg.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(time.Now(), key, body, s.cfg.secrets()...))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("webhook: POST %s: %w", Redact(url), redactErr(err))
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // reuse the connection
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		err := &sinks.StatusError{Code: resp.StatusCode, RetryAfter: sinks.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), Body: string(excerpt)}
		s.cfg.Logger.Warn("webhook refused", "url", Redact(url), "status", resp.StatusCode, "retry_after", err.RetryAfter)
		return answer{}, fmt.Errorf("webhook: POST %s: %w", Redact(url), err)
	}
	return answer{status: resp.StatusCode, body: string(excerpt)}, nil
}

type answer struct {
	status int
	body   string
}

// DeleteBody is what Delete posts to deleteUrl.
type DeleteBody struct {
	Workspace    string   `json:"workspace"`
	UserIDs      []string `json:"userIds"`
	AnonymousIDs []string `json:"anonymousIds"`
}

// Delete forwards the deletion request to DeleteURL; a 2xx answer is the
// destination's acknowledgement. The Idempotency-Key is a digest of the
// request, so a retried Delete carries the same key.
func (d DeletingSink) Delete(ctx context.Context, req sinks.DeleteRequest) (sinks.Receipt, error) {
	if err := d.enter(); err != nil {
		return sinks.Receipt{}, err
	}
	defer d.inflight.Done()
	if err := req.Validate(); err != nil {
		return sinks.Receipt{}, err
	}
	body, err := json.Marshal(DeleteBody{Workspace: req.Workspace, UserIDs: nonNil(req.UserIDs), AnonymousIDs: nonNil(req.AnonymousIDs)})
	if err != nil {
		return sinks.Receipt{}, err
	}
	sum := sha256.Sum256(body)
	ans, err := d.post(ctx, d.cfg.DeleteURL, body, "delete/"+hex.EncodeToString(sum[:16]))
	if err != nil {
		return sinks.Receipt{}, err
	}
	return sinks.Receipt{HTTPStatus: ans.status, Detail: ans.body, Finished: time.Now().UTC()}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
