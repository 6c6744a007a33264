package router_test

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/router"
)

// childEnv names the broker a re-executed test binary routes for, until it is
// killed: the crash tests' router runs in its own process so SIGKILL can stop
// it mid-transaction.
const childEnv = "SLUICE_ROUTER_CHILD_BROKER"

func TestMain(m *testing.M) {
	if addr := os.Getenv(childEnv); addr != "" {
		os.Exit(runChild(addr))
	}
	os.Exit(m.Run())
}

func runChild(addr string) int {
	ws, err := config.Parse([]byte(workspaceYAML))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r, err := router.New(router.Config{
		Seeds: []string{addr}, Workspace: ws, MaxPollRecords: 200,
		TransactionTimeout: 2 * time.Second,
		// The killed member's partitions move once its session expires.
		ClientOpts: []kgo.Opt{kgo.SessionTimeout(3 * time.Second), kgo.HeartbeatInterval(300 * time.Millisecond)},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
