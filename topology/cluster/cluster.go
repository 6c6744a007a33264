// Package cluster is how every role reaches the Kafka-protocol cluster: the
// seed brokers and the client options (client id, TLS, SASL) made once from
// the config's kafka section and shared by every client a process opens.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/topology/config"
)

// Conn is a cluster connection's settings; every client of a process is
// opened from it. The zero value is unusable: it has no seeds.
type Conn struct {
	// Seeds are the brokers clients bootstrap from.
	Seeds []string
	// Opts are the options every client gets besides its seeds (client id,
	// TLS, SASL).
	Opts []kgo.Opt

	// auth says who the clients authenticate as ("SCRAM-SHA-512 user
	// sluice"), for Check's errors; empty without SASL.
	auth string
}

// Plain returns a Conn to brokers without TLS or SASL: the embedded broker of
// `sluice dev` and tests.
func Plain(seeds ...string) Conn { return Conn{Seeds: seeds} }

// FromConfig builds the Conn of a validated kafka section: it reads TLS files
// and SASL secrets from the environment now, so a bad file or a missing
// variable stops the start with an error naming the field.
func FromConfig(k config.Kafka) (Conn, error) {
	if len(k.Brokers) == 0 {
		return Conn{}, errors.New("kafka.brokers: at least one broker is required")
	}
	c := Conn{Seeds: k.Brokers}
	if k.ClientID != "" {
		c.Opts = append(c.Opts, kgo.ClientID(k.ClientID))
	}
	if t := k.SessionTimeout.Duration; t > 0 {
		c.Opts = append(c.Opts, kgo.SessionTimeout(t), kgo.HeartbeatInterval(t/5))
	}
	if k.TLS.On() {
		tc, err := tlsConfig(k.TLS)
		if err != nil {
			return Conn{}, err
		}
		c.Opts = append(c.Opts, kgo.DialTLSConfig(tc))
	}
	if k.SASL.Mechanism != "" {
		m, err := saslMechanism(k.SASL)
		if err != nil {
			return Conn{}, err
		}
		c.Opts = append(c.Opts, kgo.SASL(m))
		c.auth = k.SASL.Mechanism
		if k.SASL.User != "" {
			c.auth += " user " + k.SASL.User
		}
	}
	return c, nil
}

// ClientOpts returns the options of a client of this cluster, extra last.
func (c Conn) ClientOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := make([]kgo.Opt, 0, 1+len(c.Opts)+len(extra))
	opts = append(opts, kgo.SeedBrokers(c.Seeds...))
	opts = append(opts, c.Opts...)
	return append(opts, extra...)
}

// NewClient opens a client of this cluster with extra options.
func (c Conn) NewClient(extra ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(c.ClientOpts(extra...)...)
}

// Check asks each seed broker for metadata once, so a role can stop at start
// with a clear error (brokers unreachable, TLS or SASL refused) instead of
// retrying in the background. It blocks until a broker answers or ctx is done.
func (c Conn) Check(ctx context.Context) error {
	var refused saslRefused
	cl, err := c.NewClient(kgo.WithHooks(&refused))
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		if refused.Load() {
			return fmt.Errorf("kafka: brokers %s: SASL %s refused: wrong credentials or mechanism? (%w)",
				strings.Join(c.Seeds, ","), c.auth, err)
		}
		return fmt.Errorf("kafka: brokers %s: %w", strings.Join(c.Seeds, ","), err)
	}
	return nil
}

// saslRefused records a connection lost while authenticating: a broker that
// refuses credentials may close the connection (kfake, some proxies) rather
// than answer SASL_AUTHENTICATION_FAILED, leaving the client a bare EOF.
type saslRefused struct{ atomic.Bool }

// OnBrokerRead implements kgo.HookBrokerRead.
func (r *saslRefused) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && (key == int16(kmsg.SASLHandshake) || key == int16(kmsg.SASLAuthenticate)) {
		r.Store(true)
	}
}
