package planstore

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Config locates the tracking-plans topic. The zero value is the dev stack:
// broker 127.0.0.1:9092, topic sluice.tracking-plans.
type Config struct {
	// Brokers are the seed brokers; default ["127.0.0.1:9092"].
	Brokers []string
	// TopicPrefix prefixes every sluice topic; default "sluice.". Set
	// NoPrefix to use the bare name "tracking-plans".
	TopicPrefix string
	NoPrefix    bool
	// Logger receives warnings (unreadable versions on the topic); default discards.
	Logger *slog.Logger
	// ClientOpts are extra franz-go options (TLS, SASL, …) for every client.
	ClientOpts []kgo.Opt
}

// TopicName is the compacted topic's name without prefix.
const TopicName = "tracking-plans"

// Validate names the first bad field.
func (c Config) Validate() error {
	for i, b := range c.Brokers {
		if strings.TrimSpace(b) == "" {
			return fmt.Errorf("planstore: Brokers[%d] is empty", i)
		}
	}
	if strings.ContainsAny(c.TopicPrefix, " /\\") {
		return errors.New("planstore: TopicPrefix " + c.TopicPrefix + ": a topic name cannot hold spaces or slashes")
	}
	return nil
}

// Topic is the full topic name, "<prefix>tracking-plans".
func (c Config) Topic() string {
	if c.NoPrefix {
		return TopicName
	}
	prefix := c.TopicPrefix
	if prefix == "" {
		prefix = "sluice."
	}
	return prefix + TopicName
}

func (c Config) brokers() []string {
	if len(c.Brokers) == 0 {
		return []string{"127.0.0.1:9092"}
	}
	return c.Brokers
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
