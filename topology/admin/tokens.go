package admin

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/tables"
)

// Tokens is the table of admin tokens: it follows the compacted admin-tokens
// topic (tables.Follower) and answers which token a bearer string is. A
// token is known only once the table has caught up past its record, and a
// revocation or a tombstone removes it as soon as it is applied.
type Tokens struct {
	follower *tables.Follower
	log      *slog.Logger
	started  atomic.Bool

	mu     sync.RWMutex
	byID   map[string]entry
	byHash map[[32]byte]string // SHA-256 of the token → id
}

type entry struct {
	tok Token
	sum [32]byte
}

// OpenTokens follows topic on the cluster of seeds (opts: TLS, SASL). It
// reads nothing until Run.
func OpenTokens(seeds []string, opts []kgo.Opt, topic string, log *slog.Logger) (*Tokens, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := &Tokens{log: log, byID: map[string]entry{}, byHash: map[[32]byte]string{}}
	f, err := tables.New(seeds, map[string]tables.Handler{topic: t.apply}, opts...)
	if err != nil {
		return nil, err
	}
	t.follower = f
	return t, nil
}

// apply is the follower's handler. A tombstone or a record this version
// cannot read removes the token: an unreadable token is refused.
func (t *Tokens) apply(key, value []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.byID[string(key)]; ok {
		delete(t.byID, old.tok.ID)
		delete(t.byHash, old.sum)
	}
	if value == nil {
		return
	}
	tok, sum, err := decodeToken(key, value)
	if err != nil {
		t.log.Warn("admin: refusing an unreadable admin-tokens record", "key", string(key), "err", err)
		return
	}
	t.byID[tok.ID] = entry{tok: tok, sum: sum}
	t.byHash[sum] = tok.ID
}

// Run follows the topic until ctx ends, then releases the connection.
func (t *Tokens) Run(ctx context.Context) error {
	if t.started.Swap(true) {
		return errors.New("admin: Tokens.Run called twice")
	}
	return t.follower.Run(ctx)
}

// Close releases the connection of a table that never ran.
func (t *Tokens) Close() {
	if !t.started.Swap(true) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_ = t.follower.Run(ctx)
	}
}

// CatchUp waits until every record written to the topic before the call
// has been applied.
func (t *Tokens) CatchUp(ctx context.Context) error { return t.follower.CatchUp(ctx) }

// Ready reports whether the table has caught up at least once.
func (t *Tokens) Ready() bool { return t.follower.Ready() }

// Lookup returns the token whose SHA-256 is sum, revoked or not.
func (t *Tokens) Lookup(sum [32]byte) (Token, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	id, ok := t.byHash[sum]
	if !ok {
		return Token{}, false
	}
	e, ok := t.byID[id]
	return e.tok, ok
}

// Get returns a token by id.
func (t *Tokens) Get(id string) (Token, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.byID[id]
	return e.tok, ok
}

// List returns every token, revoked ones included, oldest first.
func (t *Tokens) List() []Token {
	t.mu.RLock()
	out := make([]Token, 0, len(t.byID))
	for _, e := range t.byID {
		out = append(out, e.tok)
	}
	t.mu.RUnlock()
	slices.SortFunc(out, func(a, b Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}
