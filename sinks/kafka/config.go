package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/sluicehq/sluice/sinks"
)

// Config configures a Kafka destination.
type Config struct {
	// Topic receives the events. Required; it must exist (sluice does not
	// create topics on another team's cluster). Setting `topic`.
	Topic string
	// Brokers are the destination cluster's seed brokers. Setting `brokers`
	// (a list or a comma-separated string); empty means the cluster sluice
	// itself runs on, which the caller fills in.
	Brokers []string
	// ClusterOpts are the client options (TLS, SASL) of sluice's own cluster,
	// which the caller fills in with Brokers when the settings name none;
	// they replace TLS and SASL.
	ClusterOpts []kgo.Opt
	// TLS configures TLS to the brokers; see sinks.TLSSettings for the keys.
	TLS sinks.TLSSettings
	// SASL authenticates: Mechanism "PLAIN", "SCRAM-SHA-256" or
	// "SCRAM-SHA-512", with User and Password. Settings `saslMechanism`,
	// `saslUser`, `saslPassword` or `saslPasswordEnv`.
	SASL SASL
	// ExactlyOnce writes each batch in a Kafka transaction together with
	// the batch's last source offset in StateTopic, so a re-delivered batch
	// (whatever its bounds) is never written twice for read_committed
	// consumers. Off, the sink is at-least-once with an idempotent producer.
	// Default true. Setting `exactlyOnce`.
	ExactlyOnce *bool
	// StateTopic holds the last delivered source offset per destination
	// topic and source partition; created compacted if missing. Default
	// "sluice.sink-state". Setting `stateTopic`.
	StateTopic string
	// TransactionalIDPrefix prefixes the transactional ids, one per source
	// partition: "<prefix>.<topic>.<source topic>.<partition>". Default
	// "sluice-sink". Setting `transactionalIdPrefix`.
	TransactionalIDPrefix string
	// DeliveryTimeout bounds how long records may wait for the brokers'
	// acknowledgement, resends included; default 30s. Setting
	// `deliveryTimeout`.
	DeliveryTimeout time.Duration
	// BatchEvents, BatchBytes and BatchWait are the Limits; defaults 5,000
	// events, 4 MiB, 500ms. InFlight is the partitions written at once;
	// default 4. Settings `batchEvents`, `batchBytes`, `batchWait`,
	// `inFlight`.
	BatchEvents int
	BatchBytes  int
	BatchWait   time.Duration
	InFlight    int
	// Logger receives producer sessions and fencing; default discards.
	Logger *slog.Logger
}

// SASL names a SASL mechanism and its credentials.
type SASL struct {
	Mechanism      string
	User, Password string
}

// FromSettings reads a destination's settings into a Config.
func FromSettings(dest string, settings map[string]any) (Config, error) {
	r := sinks.ReadSettings(dest, settings)
	c := Config{
		Topic:                 r.String("topic", ""),
		Brokers:               r.Strings("brokers", nil),
		TLS:                   r.TLS(),
		SASL:                  SASL{Mechanism: r.String("saslMechanism", ""), User: r.String("saslUser", ""), Password: r.String("saslPassword", "")},
		StateTopic:            r.String("stateTopic", ""),
		TransactionalIDPrefix: r.String("transactionalIdPrefix", ""),
		DeliveryTimeout:       r.Duration("deliveryTimeout", 0),
		BatchEvents:           r.Int("batchEvents", 0),
		BatchBytes:            r.Int("batchBytes", 0),
		BatchWait:             r.Duration("batchWait", 0),
		InFlight:              r.Int("inFlight", 0),
	}
	eo := r.Bool("exactlyOnce", true)
	c.ExactlyOnce = &eo
	if env := r.String("saslPasswordEnv", ""); env != "" {
		v, ok := os.LookupEnv(env)
		if !ok {
			return c, fmt.Errorf("destination %s: setting saslPasswordEnv: environment variable %s is not set", dest, env)
		}
		c.SASL.Password = v
	}
	if err := r.Err(); err != nil {
		return c, err
	}
	c = c.WithDefaults()
	if err := c.validateSettings(); err != nil {
		return c, fmt.Errorf("destination %s: %w", dest, err)
	}
	return c, nil
}

// WithDefaults returns c with every unset field given its default.
func (c Config) WithDefaults() Config {
	if c.ExactlyOnce == nil {
		t := true
		c.ExactlyOnce = &t
	}
	if c.StateTopic == "" {
		c.StateTopic = "sluice.sink-state"
	}
	if c.TransactionalIDPrefix == "" {
		c.TransactionalIDPrefix = "sluice-sink"
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = 30 * time.Second
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = 5000
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = 4 << 20
	}
	if c.BatchWait == 0 {
		c.BatchWait = 500 * time.Millisecond
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
	if len(c.Brokers) == 0 {
		return errors.New("kafka: brokers: at least one seed broker")
	}
	return c.validateSettings()
}

// validateSettings checks what settings must say: everything but Brokers,
// which the caller fills in when the settings name none.
func (c Config) validateSettings() error {
	switch {
	case c.Topic == "":
		return errors.New("kafka: topic is required")
	case c.StateTopic == c.Topic:
		return errors.New("kafka: stateTopic must differ from topic")
	case c.DeliveryTimeout < 0 || c.BatchEvents < 0 || c.BatchBytes < 0 || c.BatchWait < 0 || c.InFlight < 0:
		return errors.New("kafka: deliveryTimeout, batchEvents, batchBytes, batchWait and inFlight must not be negative")
	}
	switch strings.ToUpper(c.SASL.Mechanism) {
	case "":
		if c.SASL.User != "" || c.SASL.Password != "" {
			return errors.New("kafka: saslUser and saslPassword need saslMechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("kafka: saslMechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", c.SASL.Mechanism)
	}
	return nil
}

// clientOpts are the connection options every client of the sink shares.
func (c Config) clientOpts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.ClusterOpts != nil {
		return append(opts, c.ClusterOpts...), nil
	}
	tlsCfg, err := c.TLS.Config()
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if tlsCfg != nil {
		opts = append(opts, kgo.DialTLSConfig(tlsCfg))
	}
	if m := c.SASL.mechanism(); m != nil {
		opts = append(opts, kgo.SASL(m))
	}
	return opts, nil
}

func (s SASL) mechanism() sasl.Mechanism {
	switch strings.ToUpper(s.Mechanism) {
	case "PLAIN":
		return plain.Auth{User: s.User, Pass: s.Password}.AsMechanism()
	case "SCRAM-SHA-256":
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha256Mechanism()
	case "SCRAM-SHA-512":
		return scram.Auth{User: s.User, Pass: s.Password}.AsSha512Mechanism()
	}
	return nil
}
