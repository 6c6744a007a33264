package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildSluice builds this command once into a temporary directory and
// returns the binary's path. It is built without -race even under `go test
// -race`: the processes are separate programs, and race instrumentation
// would make nine of them too slow for two cores.
func buildSluice(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH; this test builds the sluice binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.CommandContext(t.Context(), gobin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/sluice: %v\n%s", err, out)
	}
	return bin
}

// osProcess is one OS process of the sluice binary. Its stdout is scanned for
// the ready line; its stderr (the log) goes to a file, whose tail is
// printed if the test fails.
type osProcess struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	logPath string

	readyLine chan string   // the first line holding " ready: "
	done      chan struct{} // closed when the process has exited
	exitErr   error         // set before done is closed
	exitedAt  time.Time

	mu  sync.Mutex
	out []string // every stdout line
}

// startProc starts bin with args; the process is stopped when the test
// ends (SIGTERM, then SIGKILL after 10s).
func startProc(t *testing.T, bin, dir, name string, args ...string) *osProcess {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	p := &osProcess{
		name: name, cmd: exec.Command(bin, args...), logPath: logf.Name(),
		readyLine: make(chan string, 1), done: make(chan struct{}),
	}
	p.cmd.Stderr = logf
	p.cmd.Env = append(os.Environ(), "SLUICE_ADMIN_TOKEN=")
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.out = append(p.out, line)
			p.mu.Unlock()
			if strings.Contains(line, " ready: ") {
				select {
				case p.readyLine <- line:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		<-scanned // Wait closes the pipe: read it all first
		err := p.cmd.Wait()
		logf.Close()
		p.exitErr, p.exitedAt = err, time.Now()
		close(p.done)
	}()
	t.Cleanup(func() {
		if p.running() {
			p.signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			t.Logf("--- %s (%s): last lines of its log %s:\n%s", p.name, strings.Join(p.cmd.Args[1:], " "), p.logPath, logTail(p.logPath, 40))
		}
	})
	return p
}

func (p *osProcess) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *osProcess) signal(sig os.Signal) {
	if p.running() {
		_ = p.cmd.Process.Signal(sig)
	}
}

// waitExit waits up to limit for the process to exit; it reports whether it
// did. limit is a liveness bound, not a measurement.
func (p *osProcess) waitExit(limit time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(limit):
		return false
	}
}

// waitLine waits up to limit (a liveness bound) for the ready line.
func (p *osProcess) waitLine(t *testing.T, limit time.Duration) string {
	t.Helper()
	select {
	case line := <-p.readyLine:
		return line
	case <-p.done:
		t.Fatalf("%s exited before it was ready: %v\n%s", p.name, p.exitErr, logTail(p.logPath, 40))
	case <-time.After(limit):
		t.Fatalf("%s printed no ready line within %s (liveness bound)\n%s", p.name, limit, logTail(p.logPath, 40))
	}
	return ""
}

// roleProcess is a `sluice run` process and its addresses.
type roleProcess struct {
	*osProcess
	api, metrics string        // base URLs; api only with the api role
	readyAfter   time.Duration // from start to the first /readyz 200
}

var (
	apiRE     = regexp.MustCompile(`  api (http://\S+)`)
	metricsRE = regexp.MustCompile(`  metrics (http://\S+)`)
)

// startRole starts `sluice run --roles roles` with its own loopback
// addresses; waitReady finishes it.
func startRole(t *testing.T, bin, dir, name, config, roles string) *roleProcess {
	t.Helper()
	args := []string{"run", "--config", config, "--roles", roles, "--metrics-addr", "127.0.0.1:0", "--shutdown-timeout", mpShutdownTimeout.String()}
	if strings.Contains(roles, "api") {
		args = append(args, "--api-addr", "127.0.0.1:0", "--admin-token", mpAdminToken)
	}
	return &roleProcess{osProcess: startProc(t, bin, dir, name, args...)}
}

// waitReady parses the ready line and polls /readyz until it answers 200;
// limit bounds the whole wait (liveness).
func (r *roleProcess) waitReady(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	line := r.waitLine(t, limit)
	if m := apiRE.FindStringSubmatch(line); m != nil {
		r.api = m[1]
	}
	m := metricsRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("%s: no metrics address in its ready line %q", r.name, line)
	}
	r.metrics = m[1]
	last := ""
	for {
		code, body, err := getURL(t.Context(), r.metrics+"/readyz")
		if err == nil && code == http.StatusOK {
			r.readyAfter = time.Since(r.started)
			return
		}
		last = fmt.Sprintf("%d %s %v", code, body, err)
		if !r.running() {
			t.Fatalf("%s exited before /readyz said 200: %v (last /readyz: %s)", r.name, r.exitErr, last)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: /readyz not 200 within %s (liveness bound); last answer: %s", r.name, limit, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// getURL gets a URL and returns the status and body.
func getURL(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	return doRequest(req)
}

func doRequest(req *http.Request) (int, string, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body)), err
}

// tail returns the last n lines of a file.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// exitCode is a process's exit status, or -1 and the signal's name.
func exitStatus(err error) (int, string) {
	if err == nil {
		return 0, ""
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, ws.Signal().String()
		}
		return ee.ExitCode(), ""
	}
	return -1, err.Error()
}

// usage is what a process has cost so far, from /proc: CPU time (user and
// system) and peak resident memory.
type usage struct {
	cpu     time.Duration
	peakRSS int64 // bytes
}

// procUsage reads a running process's usage; ok is false once it is gone.
func procUsage(pid int) (u usage, ok bool) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, false
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if len(fields) < 13 {
		return u, false
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	const userHZ = 100 // USER_HZ, the unit of /proc/<pid>/stat times on Linux
	u.cpu = time.Duration(utime+stime) * time.Second / userHZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, false
	}
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			u.peakRSS = kb << 10
		}
	}
	return u, true
}
