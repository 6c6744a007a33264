package admin

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// Rows are counted as the answer streams past, in any chunking: JSON lines
// by newline, CSV by record (a newline inside quotes is data).
func TestRowCounter(t *testing.T) {
	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	for i := range 5 {
		_ = enc.Encode(map[string]string{"row": "line\nbreak " + strconv.Itoa(i)})
	}
	var cs bytes.Buffer
	cw := csv.NewWriter(&cs)
	_ = cw.Write([]string{"_source", "note"})
	for i := range 4 {
		_ = cw.Write([]string{"clickhouse", "a \"quoted\"\nmulti-line, cell " + strconv.Itoa(i)})
	}
	cw.Flush()
	for _, tc := range []struct {
		name string
		csv  bool
		data []byte
		want int64
	}{
		{"jsonl", false, js.Bytes(), 5},
		{"csv", true, cs.Bytes(), 4},
		{"empty csv", true, nil, 0},
	} {
		for _, chunk := range []int{1, 3, 1 << 20} {
			c := rowCounter{csv: tc.csv}
			for b := tc.data; len(b) > 0; {
				n := min(chunk, len(b))
				c.add(b[:n])
				b = b[n:]
			}
			if got := c.records(); got != tc.want {
				t.Errorf("%s in chunks of %d: %d rows, want %d", tc.name, chunk, got, tc.want)
			}
		}
	}
}

// A filing's record takes its type and subject ids, within the API's
// limits, and nothing else of the body.
func TestDescribeFiling(t *testing.T) {
	ids := []string{"u-1", "", strings.Repeat("x", maxSubjectBytes+1), "bad\x01id", "u-2"}
	body, _ := json.Marshal(map[string]any{
		"regulationType": "SUPPRESS_WITH_DELETE", "subjectType": "USER_ID", "subjectIds": ids, "note": "MARKER",
	})
	var rec Record
	describeFiling(body, &rec)
	if rec.RegulationType != "SUPPRESS_WITH_DELETE" || rec.SubjectType != "USER_ID" ||
		strings.Join(rec.SubjectIDs, ",") != "u-1,u-2" || !strings.HasPrefix(rec.Detail, "3 subject ids not recorded") {
		t.Fatalf("record %+v", rec)
	}
	v, _ := rec.encode()
	if strings.Contains(string(v), "MARKER") {
		t.Fatal("the record holds a field of the body it should not")
	}
	many := make([]string, maxSubjects+7)
	for i := range many {
		many[i] = "u" + strconv.Itoa(i)
	}
	body, _ = json.Marshal(map[string]any{"subjectIds": many})
	rec = Record{}
	describeFiling(body, &rec)
	if len(rec.SubjectIDs) != maxSubjects || !strings.HasPrefix(rec.Detail, "7 ") {
		t.Fatalf("%d ids recorded, detail %q", len(rec.SubjectIDs), rec.Detail)
	}
}
