package topology

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/topology/tables"
	"github.com/sluicehq/sluice/topology/topics"
)

// errNoEncryption is `sluice run`'s answer to a workspace without an
// encryption section: privacy first, a deletion must reach every copy of a
// person's events, which plaintext stream topics cannot give.
var errNoEncryption = errors.New("config: encryption: required: the stream topics are sealed with per-subject data keys wrapped by a KEK " +
	"(encryption: {keks: [{id: k1, secretEnv: SLUICE_KEK_K1}], current: k1}, the variable holding 32 random bytes as base64 or hex); " +
	"to run with plaintext topics, whose copies a deletion cannot reach before their retention, say encryption: {disabled: true}")

// keyring returns the process's keyring: cfg.Keyring when given, else the
// one the workspace's encryption section names, its secrets read from the
// environment now; nil when the section says disabled. A workspace without
// the section is refused (errNoEncryption).
func keyring(cfg Config) (*shred.Keyring, error) {
	if cfg.Keyring != nil {
		return cfg.Keyring, nil
	}
	enc := cfg.Workspace.Encryption
	switch {
	case enc.Disabled:
		cfg.Logger.Warn("encryption is DISABLED: the stream topics (events.raw, dest.*, violations, deadletter) hold plaintext " +
			"that a deletion cannot reach before their retention")
		return nil, nil
	case !enc.Configured():
		return nil, errNoEncryption
	}
	secrets, err := enc.Secrets()
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	keks := make([]shred.KEK, len(secrets))
	for i, s := range secrets {
		keks[i] = shred.KEK{ID: s.ID, Secret: s.Secret}
	}
	k, err := shred.NewKeyring(enc.Current, keks...)
	if err != nil {
		return nil, fmt.Errorf("config: encryption: %w", err)
	}
	return k, nil
}

// apiKeys is the api role's data keys: a table following the keys topic and
// the creator that adds a subject's key before its first event is produced.
type apiKeys struct {
	creator  *shred.Creator
	follower *tables.Follower
	log      *slog.Logger
}

// newAPIKeys builds the api's keys on the process's cluster; prod is the
// api's producer (idempotent, acks=all), which writes new keys.
func newAPIKeys(e env, prod *kgo.Client) (*apiKeys, error) {
	table := shred.NewTable(e.keyring)
	topic := e.names().Of(topics.Keys)
	f, err := tables.New(e.conn.Seeds, map[string]tables.Handler{topic: func(k, v []byte) {
		if err := table.Apply(k, v); err != nil {
			e.log.Warn("skipping an unreadable table record", "table", "keys", "error", err)
		}
	}}, e.conn.Opts...)
	if err != nil {
		return nil, err
	}
	write := func(ctx context.Context, recs []shred.Record) error {
		krs := make([]*kgo.Record, len(recs))
		for i, r := range recs {
			krs[i] = &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value}
		}
		return prod.ProduceSync(ctx, krs...).FirstErr()
	}
	return &apiKeys{creator: shred.NewCreator(table, write), follower: f, log: e.log}, nil
}

// run follows the keys topic until ctx ends; the table answers once it has
// caught up (the api creates no key before: it would duplicate existing ones).
func (k *apiKeys) run(ctx context.Context) {
	go func() {
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
			err := k.follower.CatchUp(ctx)
			if err == nil {
				k.creator.Table().MarkCaughtUp()
				return
			}
			if ctx.Err() != nil {
				return
			}
			k.log.Warn("api: the keys table cannot catch up yet", "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
	_ = k.follower.Run(ctx)
}
