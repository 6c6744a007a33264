package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// `sluice run` starts the api role without any bootstrap token, and
// --api-max-connections caps its connections: with a cap of 1, a second
// client is served only once the server has cut the first, idle, one.
func TestRunAPIWithoutBootstrapTokenAndConnectionCap(t *testing.T) {
	t.Setenv("SLUICE_ADMIN_TOKEN", "")
	b := broker.ForTest(t)
	path := filepath.Join(t.TempDir(), "sluice.yaml")
	yaml := "workspace: acme\nkafka:\n  brokers: [" + b.Addr() + "]\nencryption: {disabled: true}\nsources: [{name: web, writeKey: wk}]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ws, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := topics.Apply(t.Context(), kadm.NewClient(cl), topics.ForConfig(ws)); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	out, w := io.Pipe()
	cmd := newRootCmd()
	cmd.SetOut(w)
	cmd.SetErr(w)
	cmd.SetArgs([]string{"run", "--config", path, "--roles", "api", "--api-addr", "127.0.0.1:0", "--api-max-connections", "1"})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(runCtx); w.Close() }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("sluice run: %v", err)
		}
	})
	addr := make(chan string, 1)
	go func() {
		apiRE := regexp.MustCompile(`api http://(\S+)`)
		buf := make([]byte, 4096)
		var seen []byte
		for {
			n, err := out.Read(buf)
			seen = append(seen, buf[:n]...)
			if m := apiRE.FindSubmatch(seen); m != nil {
				addr <- string(m[1])
				_, _ = io.Copy(io.Discard, out)
				return
			}
			if err != nil {
				t.Errorf("sluice run said %q and no ready line", seen)
				close(addr)
				return
			}
		}
	}()
	api, ok := <-addr
	if !ok {
		t.FailNow()
	}

	// The one slot: a connection that sends nothing, cut by the server at
	// the header deadline.
	idle, err := net.Dial("tcp", api)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	cut := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, idle); close(cut) }()
	resp, err := (&http.Client{Timeout: time.Minute}).Get("http://" + api + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The server closed the idle connection before it accepted this one;
	// the grace only covers this goroutine learning of it (without the cap
	// the idle connection would stay open to the 5s header deadline).
	select {
	case <-cut:
	case <-time.After(time.Second):
		t.Fatal("the second client was served while the first connection held the only slot")
	}
	if resp.StatusCode != 200 {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
}
