package regulator

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

func exportOf(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("%s: %d %s", path, w.Code, w.Body)
	}
	if e := w.Result().Trailer.Get(ExportErrorTrailer); e != "" {
		t.Fatalf("%s: export error %s", path, e)
	}
	return w
}

func TestExportUserAsJSONLinesAndCSV(t *testing.T) {
	e := newEnv(t, nil)
	s := openService(t, e.b, e.cfg)
	h := NewHandler(s)

	w := exportOf(t, h, "/v1/users/u1/export")
	var lines []ExportLine
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		var l ExportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	var got []string
	for _, l := range lines {
		switch l.Source {
		case "kafka":
			got = append(got, l.Topic+" "+l.Key)
		case "clickhouse":
			var row map[string]any
			if err := json.Unmarshal(l.Row, &row); err != nil {
				t.Fatal(err)
			}
			if row["user_id"] != "u1" && row["anonymous_id"] != "a1" {
				t.Errorf("row of someone else: %s", l.Row)
			}
			got = append(got, l.Table)
		default:
			t.Errorf("line %+v", l)
		}
	}
	slices.Sort(got)
	want := []string{
		"pages",
		"sluice.consent acme/USER_ID/u1", "sluice.identities acme/a1", "sluice.profiles acme/u1",
		"tracks", "tracks", "tracks", "tracks", // 3 of u1, 1 of linked a1
		"users",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("export lines:\n got %q\nwant %q", got, want)
	}

	w = exportOf(t, h, "/v1/users/u1/export?format=csv")
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %s", ct)
	}
	recs, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := recs[0]
	if !slices.Equal(header[:3], []string{"_source", "_table", "_key"}) || !slices.Contains(header, "user_id") || !slices.Contains(header, "traits") {
		t.Fatalf("header %q", header)
	}
	if len(recs) != 1+len(want) {
		t.Fatalf("%d csv lines, want %d", len(recs), 1+len(want))
	}
	col := slices.Index(header, "event")
	events := 0
	for _, r := range recs[1:] {
		if len(r) != len(header) {
			t.Fatalf("ragged line %q", r)
		}
		if r[1] == "tracks" && (r[col] == "Clicked" || r[col] == "Viewed") {
			events++
		}
	}
	if events != 4 {
		t.Errorf("%d tracks with their event in csv, want 4", events)
	}

	// An anonymousId alone: its row, no profile.
	w = exportOf(t, h, "/v1/users/a1/export?subjectType=ANONYMOUS_ID")
	n := strings.Count(w.Body.String(), "\n")
	if !strings.Contains(w.Body.String(), `"table":"tracks"`) || !strings.Contains(w.Body.String(), "sluice.identities") || n != 2 {
		t.Fatalf("anonymous export (%d lines):\n%s", n, w.Body)
	}
}

// After a deletion, an export of the person finds nothing in any store but
// the suppression that keeps their events out (and says why it is kept).
func TestExportAfterDeletionHoldsOnlyTheSuppression(t *testing.T) {
	e := newEnv(t, nil)
	s := openService(t, e.b, e.cfg)
	h := NewHandler(s)
	before := exportOf(t, h, "/v1/users/u1/export").Body.String()
	if !strings.Contains(before, `"source":"clickhouse"`) {
		t.Fatalf("nothing to delete: %s", before)
	}
	id := e.file(t, s, SuppressWithDelete, "u1")
	runRegulator(t, s)
	if r := waitFor(t, s, id, terminal); r.OverallStatus != Finished {
		t.Fatalf("%s: %+v", r.OverallStatus, r)
	}
	for _, path := range []string{"/v1/users/u1/export", "/v1/users/a1/export?subjectType=ANONYMOUS_ID"} {
		var stores []string
		sc := bufio.NewScanner(exportOf(t, h, path).Body)
		for sc.Scan() {
			var l ExportLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			stores = append(stores, l.Source+" "+l.Table+l.Topic)
		}
		if !slices.Equal(stores, []string{"kafka sluice.suppressions"}) {
			t.Errorf("%s after the deletion: %q, want the suppression only", path, stores)
		}
	}
}
