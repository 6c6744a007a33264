package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// crashStack is `sluice dev` run again and again over one data dir, on the
// same API and metrics addresses, so that the SDK's retries reach each new
// process where they reached the one killed before it.
type crashStack struct {
	bin, tmp, dataDir, config string
	apiAddr, metricsAddr      string

	proc *osProcess
	ch   clickhouse // the current process's warehouse
	runs int
}

var devClickHouseRE = regexp.MustCompile(`  clickhouse (http://\S+)`)

// apiURL is the tracking API's base URL, the same for every run.
func (s *crashStack) apiURL() string { return "http://" + s.apiAddr }

// start starts `sluice dev` and waits until its /readyz answers 200 (every
// role ready); it returns the time from the process's start to that answer.
func (s *crashStack) start(t *testing.T) time.Duration {
	t.Helper()
	s.runs++
	s.proc = startProc(t, s.bin, s.tmp, "dev-"+strconv.Itoa(s.runs), "dev", "--data-dir", s.dataDir, "--config", s.config,
		"--api-addr", s.apiAddr, "--metrics-addr", s.metricsAddr, "--kafka-addr", "127.0.0.1:0",
		"--clickhouse-addr", "127.0.0.1:0", "--admin-token", mpAdminToken)
	deadline := s.proc.started.Add(mpReadyLimit)
	line := s.proc.waitLine(t, mpReadyLimit)
	m := devClickHouseRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("dev ready line %q: want the clickhouse address", line)
	}
	s.ch = clickhouseAt(m[1])
	for {
		code, body, err := getURL(t.Context(), "http://"+s.metricsAddr+"/readyz")
		switch {
		case err == nil && code == http.StatusOK:
			return time.Since(s.proc.started)
		case !s.proc.running():
			t.Fatalf("%s exited before /readyz said 200: %v\n%s", s.proc.name, s.proc.exitErr, logTail(s.proc.logPath, 40))
		case time.Now().After(deadline):
			t.Fatalf("%s: /readyz not 200 within %s (liveness bound); last: %d %s %v", s.proc.name, mpReadyLimit, code, body, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL to the whole process and waits until it is gone.
func (s *crashStack) kill(t *testing.T) {
	t.Helper()
	s.proc.signal(syscall.SIGKILL)
	if !s.proc.waitExit(30 * time.Second) {
		t.Fatalf("%s still runs 30s after SIGKILL (liveness bound)", s.proc.name)
	}
}

// freeLoopbackAddr returns a loopback host:port that was free a moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// envInt reads a whole-number test setting from the environment, or def.
func envInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

// crashConfig is the workspace of the crash test: one source, six
// partitions, the dev warehouse and a webhook destination at hookURL.
func crashConfig(hookURL string) string {
	return fmt.Sprintf(`workspace: acme
partitions: 6
sources:
  - name: web
    writeKey: %s
destinations:
  - name: warehouse
    type: clickhouse
    settings: {database: sluice}
  - name: hook
    type: webhook
    settings: {url: %q}
`, mpWriteKey, hookURL)
}
