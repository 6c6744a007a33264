// Package broker runs an embedded Kafka-protocol broker in process: franz-go's
// kfake, which speaks the real wire protocol (consumer groups, transactions,
// compaction, persistence, fault injection through ControlKey).
//
// It serves two purposes: the broker of `sluice dev` (fixed port, state under
// the data directory so a restart keeps every topic, offset and group) and a
// per-test cluster on a random loopback port. It is a development and test
// broker, not a production one: one node, no replication.
package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Config describes an embedded broker. The zero value is an in-memory broker
// on a random loopback port.
type Config struct {
	// Addr is the loopback host:port to listen on; default "127.0.0.1:0".
	// With several Brokers, the others listen on the ports that follow
	// (any free port each when Addr's port is 0).
	Addr string
	// Brokers is how many brokers the cluster has; default 1. Partition
	// leaders and group coordinators spread over them, so clients work
	// with several connections as they do on a real cluster (kfake does
	// not replicate: a broker is not a failure domain).
	Brokers int
	// DataDir persists every topic, offset and group across restarts when set;
	// empty keeps everything in memory.
	DataDir string
	// Partitions is the partition count of auto-created topics; default 3.
	Partitions int
	// Logger receives the broker's warnings and errors; default discards.
	Logger *slog.Logger
	// Users, when set, require SASL: only these users connect, each a
	// superuser (no ACL checks). Default none: no authentication.
	Users []User
	// RestrictedUsers, when set, turn on the broker's authorizer: these SASL
	// users may do only what ACLs allow (created through the admin API by
	// one of Users). Users stay superusers.
	RestrictedUsers []User
	// TLS, when set, makes the listener serve TLS with this config (its
	// certificate, and ClientAuth for mutual TLS). Default plaintext.
	TLS *tls.Config
	// CleanEvery is how often the broker cleans its logs (Broker.Clean):
	// compacted topics drop replaced values and old tombstones, the others
	// expire by retention.ms; default DefaultCleanEvery (1m); negative:
	// only when Clean is called. kfake's own cleaner (hourly) is off.
	CleanEvery time.Duration
}

// User is a SASL user of the embedded broker.
type User struct {
	// Mechanism is PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512.
	Mechanism string
	// Name and Password are the user's credentials.
	Name, Password string
}

// Validate names the first bad field.
func (c Config) Validate() error {
	if c.Addr != "" {
		host, _, err := net.SplitHostPort(c.Addr)
		if err != nil {
			return fmt.Errorf("broker: Addr %q: %w", c.Addr, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("broker: Addr %q: the embedded broker listens on loopback only", c.Addr)
		}
	}
	if c.Brokers < 0 || c.Brokers > 16 {
		return fmt.Errorf("broker: Brokers %d: want 1 to 16 (0 means 1)", c.Brokers)
	}
	if c.Partitions < 0 {
		return fmt.Errorf("broker: Partitions %d: must not be negative", c.Partitions)
	}
	for _, set := range []struct {
		field string
		users []User
	}{{"Users", c.Users}, {"RestrictedUsers", c.RestrictedUsers}} {
		for i, u := range set.users {
			switch u.Mechanism {
			case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
			default:
				return fmt.Errorf("broker: %s[%d].Mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", set.field, i, u.Mechanism)
			}
			if u.Name == "" {
				return fmt.Errorf("broker: %s[%d].Name: required", set.field, i)
			}
		}
	}
	if len(c.RestrictedUsers) > 0 && len(c.Users) == 0 {
		return errors.New("broker: RestrictedUsers need a superuser in Users to create their ACLs")
	}
	return nil
}

// Broker is a running embedded broker.
type Broker struct {
	cluster *kfake.Cluster
	addrs   []string
	cfg     Config
	log     *slog.Logger

	cleanMu   sync.Mutex // one Clean at a time; guards cleaner
	cleaner   *cleaner
	stopClean context.CancelFunc // ends cleanLoop and the Clean it runs
	cleanDone chan struct{}      // closed when cleanLoop has returned
	closeOnce sync.Once
}

// Start starts a broker. It returns once the broker accepts connections.
func Start(cfg Config) (*Broker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	port := 0
	if cfg.Addr != "" {
		_, p, _ := net.SplitHostPort(cfg.Addr)
		port, _ = strconv.Atoi(p)
	}
	nodes := max(cfg.Brokers, 1)
	ports := make([]int, nodes)
	for i := range ports {
		if port != 0 {
			ports[i] = port + i
		}
	}
	partitions := cfg.Partitions
	if partitions == 0 {
		partitions = 3
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := []kfake.Opt{
		kfake.Ports(ports...),
		kfake.ClusterID("sluice-dev"),
		kfake.DefaultNumPartitions(partitions),
		kfake.AllowAutoTopicCreation(),
		kfake.WithLogger(slogAdapter{logger}),
		// Group sessions as short as clients ask for, so tests that kill a
		// member see the rebalance quickly.
		kfake.GroupMinSessionTimeout(time.Second),
		// Clean replaces kfake's own cleaner (see clean.go): a century
		// between its runs.
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": strconv.FormatInt(100*365*24*time.Hour.Milliseconds(), 10)}),
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if len(cfg.Users) > 0 || len(cfg.RestrictedUsers) > 0 {
		opts = append(opts, kfake.EnableSASL())
		for _, u := range cfg.Users {
			opts = append(opts, kfake.Superuser(u.Mechanism, u.Name, u.Password))
		}
	}
	if len(cfg.RestrictedUsers) > 0 {
		opts = append(opts, kfake.EnableACLs())
		for _, u := range cfg.RestrictedUsers {
			opts = append(opts, kfake.User(u.Mechanism, u.Name, u.Password))
		}
	}
	if cfg.TLS != nil {
		opts = append(opts, kfake.TLS(cfg.TLS))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: start: %w", err)
	}
	addrs := c.ListenAddrs()
	if len(addrs) != nodes {
		c.Close()
		return nil, fmt.Errorf("broker: expected %d listeners, got %v", nodes, addrs)
	}
	b := &Broker{cluster: c, addrs: addrs, cfg: cfg, log: logger, cleanDone: make(chan struct{})}
	every := cfg.CleanEvery
	if every == 0 {
		every = DefaultCleanEvery
	}
	ctx, stop := context.WithCancel(context.Background()) // the broker's lifetime, ended by Close
	b.stopClean = stop
	if err := b.endPartitions(ctx); err != nil {
		logger.Warn("broker: cleaner: ending the partitions at start", "err", err)
	}
	if every > 0 {
		go b.cleanLoop(ctx, every)
	} else {
		close(b.cleanDone)
	}
	return b, nil
}

// Addr is the host:port clients bootstrap from: the first broker's.
func (b *Broker) Addr() string { return b.addrs[0] }

// Addrs are every broker's host:port, in order.
func (b *Broker) Addrs() []string { return slices.Clone(b.addrs) }

// Cluster exposes the underlying kfake cluster for compaction (Compact) and
// fault injection (ControlKey) in tests.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Compact runs kfake's log compaction on every compacted topic now, and
// retention on every topic. Unlike Clean it leaves each partition's last
// batch as it is, as Kafka leaves the active segment.
func (b *Broker) Compact() { b.cluster.Compact() }

// Close stops the broker, writing its state to DataDir when persistent.
// Closing again does nothing.
func (b *Broker) Close() {
	b.closeOnce.Do(func() {
		b.stopClean()
		<-b.cleanDone
		b.cleanMu.Lock()
		b.cleaner.close()
		b.cleaner = nil
		b.cleanMu.Unlock()
		b.cluster.Close()
	})
}

// slogAdapter routes kfake's log lines to a slog.Logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Logf(level kfake.LogLevel, format string, args ...any) {
	var lv slog.Level
	switch level {
	case kfake.LogLevelError:
		lv = slog.LevelError
	case kfake.LogLevelWarn:
		lv = slog.LevelWarn
	case kfake.LogLevelInfo:
		lv = slog.LevelInfo
	default:
		lv = slog.LevelDebug
	}
	if a.l.Enabled(context.Background(), lv) {
		a.l.Log(context.Background(), lv, fmt.Sprintf(format, args...), "component", "broker")
	}
}
