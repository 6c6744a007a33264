package deadletters

import (
	"errors"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// Config configures a Service. Seeds and Workspace are required.
type Config struct {
	// Seeds are the brokers to bootstrap from.
	Seeds []string
	// ClientOpts are extra franz-go options (TLS, SASL) for every client.
	ClientOpts []kgo.Opt
	// Workspace names the topics and the destinations a replay may target.
	Workspace config.Config
	// Keyring unwraps the data keys that sealed the dead letters (package
	// processors/shred); nil: the topics are plaintext.
	Keyring *shred.Keyring
	// Logger receives logs, which carry no user data; default discards.
	Logger *slog.Logger
}

// Service lists and replays the dead letters of one workspace. Every call
// reads the topics it needs from their start: it keeps no state between
// calls, so any number of API processes may serve it.
type Service struct {
	cfg   Config
	ws    config.Config
	names topics.Names
	log   *slog.Logger
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	if len(cfg.Seeds) == 0 {
		return nil, errors.New("deadletters: Seeds: at least one broker is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ws := cfg.Workspace.WithDefaults()
	return &Service{cfg: cfg, ws: ws, names: topics.Names{Prefix: ws.TopicPrefix}, log: cfg.Logger}, nil
}

// hasDestination reports whether the workspace has a destination named name.
func (s *Service) hasDestination(name string) bool {
	for _, d := range s.ws.Destinations {
		if d.Name == name {
			return true
		}
	}
	return false
}
