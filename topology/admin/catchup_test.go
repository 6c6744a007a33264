package admin

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicehq/sluice/topology/topics"
)

// With a table that lags the topic (every fetch held 300ms by the broker),
// a token works from the first request after `create` returns and is
// refused from the first request after `revoke` returns: the guard catches
// the table up before it judges a token, it does not trust what it has.
func TestGuardCatchesUpBeforeJudging(t *testing.T) {
	e := newTestEnv(t)
	e.broker.Cluster().ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		e.broker.Cluster().SleepControl(func() { time.Sleep(300 * time.Millisecond) })
		return nil, nil, false // then answered as usual
	})
	lagging, err := OpenTokens([]string{e.broker.Addr()}, []kgo.Opt{kgo.FetchMaxWait(10 * time.Millisecond)},
		e.names.Of(topics.AdminTokens), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = lagging.Run(ctx) }()
	defer func() { stop(); <-done }()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	guarded := NewGuard(GuardConfig{Tokens: lagging, Audit: e.audit}).Wrap("GET /v1/regulations", string(ScopeRegulationsRead), h)

	for i := range 3 {
		token, tok := e.create("alice@acme.com", RoleViewer)
		if rec := serve(guarded, token); rec.Code != http.StatusOK {
			t.Fatalf("round %d: a token just created: %d %s", i, rec.Code, rec.Body)
		}
		if _, err := e.console.RevokeToken(t.Context(), tok.ID); err != nil {
			t.Fatal(err)
		}
		if rec := serve(guarded, token); rec.Code != http.StatusUnauthorized {
			t.Fatalf("round %d: a token just revoked: %d %s", i, rec.Code, rec.Body)
		}
	}
}
