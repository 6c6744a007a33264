package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// readmeTourLimit bounds each wait of the README tour (liveness, not speed).
const readmeTourLimit = 90 * time.Second

// TestReadmeTour runs the README's "Send an event and follow it" block as
// written, against `sluice dev` as an OS process: only the addresses (the
// README's default ports) and the printed credentials are substituted. Each
// command runs as a reader would type it; the ones that show routed data
// are re-run until the data is there (delivery takes a moment), and the
// regulation's promise — u1's rows gone within seconds — is checked with the
// README's own query.
func TestReadmeTour(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat is not installed: run `make deps` (installs Debian's kcat)")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	commands := readmeTour(t, string(readme))

	bin, tmp := buildSluice(t), t.TempDir()
	api, kafka, ch := freeLoopbackAddr(t), freeLoopbackAddr(t), freeLoopbackAddr(t)
	data := filepath.Join(tmp, "data")
	dev := startProc(t, bin, tmp, "dev", "dev", "--data-dir", data,
		"--api-addr", api, "--kafka-addr", kafka, "--clickhouse-addr", ch)
	dev.waitLine(t, mpReadyLimit)
	var creds struct{ WriteKey, AdminToken string }
	raw, err := os.ReadFile(filepath.Join(data, "dev-credentials.json"))
	if err != nil || json.Unmarshal(raw, &creds) != nil || creds.WriteKey == "" || creds.AdminToken == "" {
		t.Fatalf("dev-credentials.json: %v %s", err, raw)
	}

	const assign = `WK=wk_dev_...; ADMIN=adm_...`
	if commands[0] != assign {
		t.Fatalf("the tour's first line is %q, want %q", commands[0], assign)
	}
	prelude := "WK=" + creds.WriteKey + "; ADMIN=" + creds.AdminToken + "\n"
	addrs := strings.NewReplacer("127.0.0.1:8088", api, "127.0.0.1:9092", kafka, "127.0.0.1:8123", ch, "kcat ", kcat+" ")
	run := func(command string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), readmeTourLimit)
		defer cancel()
		var stderr strings.Builder
		cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", prelude+addrs.Replace(command))
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s%s", command, err, out, stderr.String())
		}
		return string(out)
	}
	// until re-runs command until its output satisfies ok.
	until := func(command, what string, ok func(string) bool) string {
		t.Helper()
		deadline := time.Now().Add(readmeTourLimit)
		for {
			out := run(command)
			if ok(out) {
				return out
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no %s within %s (liveness bound); last output:\n%s", command, what, readmeTourLimit, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	var selectTracks string
	for _, c := range commands[1:] {
		switch {
		case strings.Contains(c, "/v1/track"):
			if out := run(c); !strings.Contains(out, `"success":true`) {
				t.Fatalf("%s:\n%s", c, out)
			}
		case strings.Contains(c, "-t sluice.events.raw"), strings.Contains(c, "-t sluice.dest.warehouse"):
			// Values are sealed (docs/encryption.md); keys name the subject.
			until(c, "record of u1", func(out string) bool { return strings.Contains(out, "u1") })
		case strings.Contains(c, "FROM+sluice.tracks"):
			selectTracks = c
			until(c, "row of u1", func(out string) bool { return strings.Contains(out, "u1\tSigned Up\t") })
		case strings.Contains(c, " -L"):
			if out := run(c); !strings.Contains(out, `topic "sluice.events.raw"`) || !strings.Contains(out, `topic "sluice.dest.warehouse"`) {
				t.Fatalf("%s: the topics are not listed:\n%s", c, out)
			}
		case strings.Contains(c, "/v1/regulations"):
			var reg struct {
				ID string `json:"id"`
			}
			out := run(c)
			if json.Unmarshal([]byte(out), &reg) != nil || reg.ID == "" {
				t.Fatalf("%s:\n%s", c, out)
			}
		default:
			t.Fatalf("the README tour has a command this test does not know: %q", c)
		}
	}
	if selectTracks == "" {
		t.Fatal("the README tour no longer queries sluice.tracks")
	}
	until(selectTracks, "empty answer after the deletion", func(out string) bool { return strings.TrimSpace(out) == "" })
}

// readmeTour returns the commands of the README's first sh block after
// "Send an event and follow it": comments and blank lines dropped, lines
// ending in a backslash joined with the next.
func readmeTour(t *testing.T, readme string) []string {
	t.Helper()
	_, after, ok := strings.Cut(readme, "Send an event and follow it")
	if !ok {
		t.Fatal(`README: no "Send an event and follow it"`)
	}
	_, block, ok := strings.Cut(after, "```sh\n")
	if !ok {
		t.Fatal("README: no sh block after the tour's heading")
	}
	block, _, _ = strings.Cut(block, "```")
	var commands []string
	pending := ""
	for _, line := range strings.Split(block, "\n") {
		if code, _, found := strings.Cut(line, "   #"); found && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			line = code // a trailing comment
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`)
			continue
		}
		commands = append(commands, strings.TrimSpace(pending+line))
		pending = ""
	}
	if len(commands) < 2 {
		t.Fatalf("README tour: %q", commands)
	}
	return commands
}
