package dev_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/dev"
)

// startDev runs a dev stack on random loopback ports in dir and returns where it is.
func startDev(t *testing.T, dir string, opts ...func(*dev.Config)) (dev.Info, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan dev.Info, 1)
	done := make(chan error, 1)
	cfg := dev.Config{DataDir: dir, APIAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0", ClickHouseAddr: "127.0.0.1:0"}
	for _, o := range opts {
		o(&cfg)
	}
	go func() { done <- dev.Run(ctx, cfg, func(i dev.Info) { ready <- i }) }()
	select {
	case info := <-ready:
		return info, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dev stack stopped with %v", err)
			}
		}
	case err := <-done:
		cancel()
		t.Fatalf("dev stack did not start: %v", err)
	}
	return dev.Info{}, nil
}

func get(t *testing.T, u string, auth ...func(*http.Request)) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range auth {
		a(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, body)
	}
	return string(body)
}

// The dev stack serves the tracking API, Kafka and ClickHouse; it refuses a
// second process on its data directory; what it stored survives a restart.
func TestDevStack(t *testing.T) {
	dir := t.TempDir()
	info, stop := startDev(t, dir)

	if got := get(t, info.ClickHouse+"/?query="+url.QueryEscape("SHOW DATABASES")); !strings.Contains(got, "sluice\n") {
		t.Fatalf("database sluice missing: %q", got)
	}
	req, _ := http.NewRequest(http.MethodPost, info.API+"/v1/track",
		strings.NewReader(`{"userId":"u-1","event":"Dev Tested","messageId":"m-1"}`))
	req.SetBasicAuth(info.WriteKeys["default"], "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("track: %s", resp.Status)
	}

	err = dev.Run(t.Context(), dev.Config{DataDir: dir, APIAddr: "127.0.0.1:0", KafkaAddr: "127.0.0.1:0", ClickHouseAddr: "127.0.0.1:0"}, func(dev.Info) {
		t.Error("a second dev stack on the same data directory started")
	})
	if !errors.Is(err, dev.ErrDataDirInUse) {
		t.Fatalf("second dev stack: got %v, want ErrDataDirInUse", err)
	}
	stop()

	info, stop = startDev(t, dir)
	defer stop()
	if got := readRaw(t, info); !strings.Contains(got, `"messageId":"m-1"`) {
		t.Fatalf("after restart events.raw holds %q, want the tracked event", got)
	}
	if info.WriteKeys["default"] == "" || info.AdminToken == "" {
		t.Fatalf("credentials missing after restart: %+v", info)
	}
}

// readRaw returns events.raw's values, opened with the dev stack's keys.
func readRaw(t *testing.T, info dev.Info) string {
	t.Helper()
	keys := keyTable(t, info)
	cl, err := kgo.NewClient(kgo.SeedBrokers(info.Kafka), kgo.ConsumeTopics("sluice.events.raw"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var sb strings.Builder
	for sb.Len() == 0 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if v, _, err := keys.Open(nil, r.Value); err == nil {
				fmt.Fprintf(&sb, "%s\n", v)
			}
		})
	}
	return sb.String()
}

// With a public URL, analytics.js is told to send there, whatever host it
// asked for its settings through.
func TestDevPublicURL(t *testing.T) {
	info, stop := startDev(t, t.TempDir(), func(c *dev.Config) { c.PublicURL = "https://events.example.com" })
	defer stop()
	got := get(t, info.API+"/v1/projects/"+info.WriteKeys["default"]+"/settings")
	if !strings.Contains(got, `"apiHost":"events.example.com/v1"`) || !strings.Contains(got, `"protocol":"https"`) {
		t.Fatalf("settings = %s, want apiHost events.example.com/v1 over https", got)
	}
}
