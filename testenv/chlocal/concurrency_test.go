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
		"UNKNOWN_EXCEPTION": codeUnknownException,
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

// A long statement does not hold up another request: each runs on its own
// engine connection. The short request must finish while the long one runs.
func TestStatementsRunAtOnce(t *testing.T) {
	srv, _ := ForTest(t)
	post := func(sql string) error {
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
	long := make(chan error, 1)
	go func() { long <- post("SELECT sleep(3), 'long-statement-marker'") }()
	// Wait until the long statement is running on the engine.
	for {
		resp, err := http.Post(srv.URL()+"/", "text/plain",
			strings.NewReader("SELECT count() FROM system.processes WHERE query LIKE '%long-statement-marker%' AND query NOT LIKE '%system.processes%'"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.TrimSpace(string(body)) == "1" {
			break
		}
		select {
		case err := <-long:
			t.Fatalf("the long statement ended before it was seen running: %v", err)
		default:
		}
	}
	// That polling request itself ran beside the long statement; so must this.
	if err := post("SELECT 1"); err != nil {
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
