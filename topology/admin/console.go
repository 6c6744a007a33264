package admin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/topics"
)

// ConsoleConfig configures a Console. Brokers is required.
type ConsoleConfig struct {
	// Brokers are the seed brokers.
	Brokers []string
	// ClientOpts are extra franz-go options (TLS, SASL) of every client.
	ClientOpts []kgo.Opt
	// Topics names the topics.
	Topics topics.Names
	// Principal is the Kafka principal (SASL user) connected as, recorded
	// with every action; empty when unauthenticated.
	Principal string
	// Operator is who runs the console; default the operating-system user
	// and host, role "cli".
	Operator Actor
}

// Console is what `sluice tokens` and `sluice audit` do: it creates, lists
// and revokes admin tokens and reads the audit trail, connected to the
// cluster as the admin principal (the only one that may write admin tokens).
type Console struct {
	cfg ConsoleConfig
}

// NewConsole returns a Console.
func NewConsole(cfg ConsoleConfig) (*Console, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("admin: Brokers: at least one seed broker is required")
	}
	if cfg.Operator.Holder == "" {
		cfg.Operator = Actor{Holder: operator(), Role: "cli"}
	}
	return &Console{cfg: cfg}, nil
}

// operator names the operating-system user and host the CLI runs as.
func operator() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if host == "" {
		return name
	}
	return name + "@" + host
}

// ErrAlreadyRevoked reports a revocation of a token revoked before.
var ErrAlreadyRevoked = errors.New("admin: the token was already revoked")

// CreateToken creates a token for holder with role and returns it: the only
// time it is shown; the topic keeps its SHA-256. The token record and its
// audit record are written in one transaction: neither exists without the
// other. API processes accept the token once their table has it, which is
// before any request they answer after CreateToken returns.
func (c *Console) CreateToken(ctx context.Context, holder string, role Role) (string, Token, error) {
	token, t, err := newToken(holder, role, c.cfg.Operator.Holder, time.Now())
	if err != nil {
		return "", Token{}, err
	}
	if err := c.writeToken(ctx, t, ActionTokenCreate); err != nil {
		return "", Token{}, err
	}
	return token, t, nil
}

// RevokeToken revokes the token with id, with its audit record in the same
// transaction, and returns it. A token revoked before returns
// ErrAlreadyRevoked, an unknown id an error.
func (c *Console) RevokeToken(ctx context.Context, id string) (Token, error) {
	table, err := c.tokens(ctx)
	if err != nil {
		return Token{}, err
	}
	t, ok := table.Get(id)
	switch {
	case !ok:
		return Token{}, fmt.Errorf("admin: no token %q (sluice tokens list shows them)", id)
	case t.Revoked():
		return t, ErrAlreadyRevoked
	}
	now := time.Now().UTC()
	t.RevokedAt, t.RevokedBy = &now, c.cfg.Operator.Holder
	if err := c.writeToken(ctx, t, ActionTokenRevoke); err != nil {
		return Token{}, err
	}
	return t, nil
}

// ListTokens returns every token, revoked ones included, oldest first.
func (c *Console) ListTokens(ctx context.Context) ([]Token, error) {
	table, err := c.tokens(ctx)
	if err != nil {
		return nil, err
	}
	return table.List(), nil
}

// ReadAudit reads the audit trail (see ReadAudit).
func (c *Console) ReadAudit(ctx context.Context, f Filter) ([]Entry, int, error) {
	return ReadAudit(ctx, c.cfg.Brokers, c.cfg.ClientOpts, c.cfg.Topics.Of(topics.Audit), f)
}

// tokens reads the admin-tokens topic to its end.
func (c *Console) tokens(ctx context.Context) (*Tokens, error) {
	table, err := OpenTokens(c.cfg.Brokers, c.cfg.ClientOpts, c.cfg.Topics.Of(topics.AdminTokens), nil)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = table.Run(runCtx) }()
	err = table.CatchUp(ctx)
	stop()
	<-done
	if err != nil {
		return nil, fmt.Errorf("admin: reading the admin-tokens topic: %w", err)
	}
	return table, nil
}

// writeToken writes t and the audit record of action in one transaction.
func (c *Console) writeToken(ctx context.Context, t Token, action string) error {
	value, err := json.Marshal(t)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	rec := &Record{
		ID: newActionID(), Phase: PhaseOnce, At: time.Now().UTC(), Actor: c.cfg.Operator,
		Principal: c.cfg.Principal, Server: host, Action: action,
		Token: &TokenRef{ID: t.ID, Holder: t.Holder, Role: t.Role},
	}
	audit, err := rec.kafka(c.cfg.Topics.Of(topics.Audit))
	if err != nil {
		return err
	}
	var suffix [8]byte
	_, _ = rand.Read(suffix[:])
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(c.cfg.Brokers...),
		kgo.TransactionalID(topics.AdminTransactionalIDPrefix + hex.EncodeToString(suffix[:])),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	}, c.cfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("admin: %w", err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		return fmt.Errorf("admin: begin transaction: %w", err)
	}
	tokenRec := &kgo.Record{Topic: c.cfg.Topics.Of(topics.AdminTokens), Key: []byte(t.ID), Value: value}
	if err := cl.ProduceSync(ctx, tokenRec, audit).FirstErr(); err != nil {
		_ = cl.EndTransaction(context.WithoutCancel(ctx), kgo.TryAbort)
		return fmt.Errorf("admin: write the token and its audit record: %w", err)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return fmt.Errorf("admin: commit the token and its audit record: %w", err)
	}
	return nil
}
