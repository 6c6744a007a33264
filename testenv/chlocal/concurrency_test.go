package chlocal

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/sluicehq/sluice/testenv/chdb"
)

// Requests with different databases and settings run at once; each must see
// exactly its own.
func TestConcurrentRequestsKeepTheirOwnState(t *testing.T) {
	srv, db := ForTest(t)
	_, other := ForTest(t)
	const workers, each = 6, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			database := []string{db, other}[w%2]
			threads := fmt.Sprint(w + 1)
			want := fmt.Sprintf("%s\t%s\n", database, threads)
			for range each {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost,
					srv.URL()+"/?"+q("database", database, "max_threads", threads).Encode(),
					strings.NewReader("SELECT currentDatabase(), getSetting('max_threads')"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("worker %d: got %q (%v), want %q", w, got, err, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The codes the server raises itself must be the engine's for their names.
func TestOwnExceptionCodesAreTheEngines(t *testing.T) {
	srv, _ := ForTest(t)
	for name, code := range map[string]int{
		"BAD_ARGUMENTS": codeBadArguments, "NOT_IMPLEMENTED": codeNotImplemented,
		"SYNTAX_ERROR": codeSyntaxError, "UNKNOWN_SETTING": codeUnknownSetting,
		"READONLY": codeReadonly, "NETWORK_ERROR": codeNetworkError,
		"CANNOT_DECOMPRESS": codeCannotDecompress, "QUERY_WAS_CANCELLED": codeQueryWasCancelled,
		"UNKNOWN_EXCEPTION": codeUnknownException, "ACCESS_DENIED": codeAccessDenied,
	} {
		res, err := srv.lanes[0].engine.Query(t.Context(), fmt.Sprintf("SELECT errorCodeToName(%d)", code), "TabSeparated", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(res.Data)); got != name {
			t.Errorf("code %d is %s in the engine, not %s", code, got, name)
		}
	}
	if codeUnknownException != chdb.CodeUnknownException {
		t.Error("UNKNOWN_EXCEPTION differs between packages")
	}
}

// postSQL sends sql and fails unless the answer is 200.
func postSQL(srv *Server, sql string) error {
	resp, err := http.Post(srv.URL()+"/", "text/plain", strings.NewReader(sql))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, body)
	}
	return nil
}

// waitRunning waits until n statements containing marker run on the engine,
// failing if one of them ends (on done) first.
func waitRunning(t *testing.T, srv *Server, marker string, n int, done <-chan error) {
	t.Helper()
	poll := fmt.Sprintf("SELECT count() = %d FROM system.processes WHERE query LIKE '%%%s%%' AND query NOT LIKE '%%system.processes%%' AND query NOT LIKE '%%formatQuery%%'", n, marker)
	for {
		resp, err := http.Post(srv.URL()+"/", "text/plain", strings.NewReader(poll))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) == "1" {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("a statement marked %s ended before %d were seen running: %v", marker, n, err)
		default:
		}
	}
}

// A long statement does not hold up another request: each runs on its own
// engine connection. The short request must finish while the long one runs.
func TestStatementsRunAtOnce(t *testing.T) {
	srv, _ := ForTest(t)
	long := make(chan error, 1)
	go func() { long <- postSQL(srv, "SELECT sleep(3), 'long-statement-marker'") }()
	// That polling request itself runs beside the long statement; so must this.
	waitRunning(t, srv, "long-statement-marker", 1, long)
	if err := postSQL(srv, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-long:
		t.Fatalf("the long statement ended (%v) before a short one beside it could", err)
	default:
	}
	if err := <-long; err != nil {
		t.Fatal(err)
	}
}

// Two slow statements (more than the machine's cores on a small machine) do
// not stall a quick one: it runs beside them and ends first.
func TestSlowStatementsDoNotStallOthers(t *testing.T) {
	srv, _ := ForTest(t)
	slow := make(chan error, 2)
	for i := range 2 {
		go func() {
			slow <- postSQL(srv, fmt.Sprintf("SELECT sleepEachRow(1), 'slow-statement-marker-%d' FROM numbers(3)", i))
		}()
	}
	waitRunning(t, srv, "slow-statement-marker-", 2, slow)
	if err := postSQL(srv, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-slow:
		t.Fatalf("a slow statement ended (%v) before the quick one", err)
	default:
	}
	for range 2 {
		if err := <-slow; err != nil {
			t.Fatal(err)
		}
	}
}
