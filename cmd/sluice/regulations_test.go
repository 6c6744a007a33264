package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/testenv/broker"
	"github.com/sluicehq/sluice/topology/regulator"
	"github.com/sluicehq/sluice/topology/topics"
)

// adminServer serves the regulations handler behind a bearer token on an
// embedded broker, as the api role mounts it.
func adminServer(t *testing.T) (*httptest.Server, *int) {
	b := broker.ForTest(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	if err := topics.Ensure(t.Context(), kadm.NewClient(cl), topics.Names{Prefix: "sluice."}.All(3, nil)); err != nil {
		t.Fatal(err)
	}
	svc, err := regulator.Open(t.Context(), regulator.Config{Workspace: "acme", Brokers: []string{b.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	h := regulator.NewHandler(svc)
	posts := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			*posts++
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, posts
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRegulationsCmd()
	if args[0] == "export" {
		cmd = newExportCmd()
		args = args[1:]
	}
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(t.Context())
	return out.String(), errb.String(), err
}

func TestRegulationsCreateSplitsBulkFiles(t *testing.T) {
	srv, posts := adminServer(t)
	var ids strings.Builder
	ids.WriteString("# users to suppress\n")
	for i := range 12_001 {
		fmt.Fprintf(&ids, "user-%d\n", i)
		if i == 7 {
			ids.WriteString("\n")
		}
	}
	file := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(file, []byte(ids.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"create", "--api", srv.URL, "--admin-token", "tok", "--type", "SUPPRESS_ONLY", "--file", file, "--idempotency-key", "run-1"}
	out, progress, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %s", err, progress)
	}
	regs := strings.Fields(out)
	if len(regs) != 3 || *posts != 3 {
		t.Fatalf("%d ids printed, %d requests; want 3: %q", len(regs), *posts, out)
	}
	if !strings.Contains(progress, "filed 3 requests, 12001 ids of 12001 (100%)") {
		t.Errorf("progress: %q", progress)
	}
	// Running it again with the same key files nothing new.
	again, _, err := runCLI(t, args...)
	if err != nil || again != out {
		t.Fatalf("re-run: %q, %v; want %q", again, err, out)
	}

	get, _, err := runCLI(t, "get", "--api", srv.URL, "--admin-token", "tok", regs[0])
	if err != nil || !strings.Contains(get, "FINISHED") || !strings.Contains(get, "5000 USER_ID subjects") {
		t.Fatalf("get: %q %v", get, err)
	}
	list, _, err := runCLI(t, "list", "--api", srv.URL, "--admin-token", "tok", "--status", "FINISHED")
	if err != nil || strings.Count(list, "SUPPRESS_ONLY") != 3 {
		t.Fatalf("list: %q %v", list, err)
	}
	watch, _, err := runCLI(t, append([]string{"watch", "--api", srv.URL, "--admin-token", "tok"}, regs...)...)
	if err != nil || strings.Count(watch, "FINISHED") != 3 {
		t.Fatalf("watch: %q %v", watch, err)
	}
}

func TestRegulationsCreateNamesTheBadLine(t *testing.T) {
	srv, _ := adminServer(t)
	file := filepath.Join(t.TempDir(), "ids.txt")
	long := strings.Repeat("x", 300)
	if err := os.WriteFile(file, []byte("u1\n\nu2\n"+long+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCLI(t, "create", "--api", srv.URL, "--admin-token", "tok", "--type", "DELETE_ONLY", "--file", file)
	if err == nil || !strings.Contains(err.Error(), "line 4:") {
		t.Fatalf("err = %v, want it to name line 4", err)
	}
	_, _, err = runCLI(t, "create", "--api", srv.URL, "--admin-token", "wrong", "--type", "DELETE_ONLY", "u1")
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
}
