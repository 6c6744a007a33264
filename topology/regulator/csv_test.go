package regulator

import (
	"encoding/json"
	"testing"
)

// Text a sender controls cannot become a spreadsheet formula in a CSV
// export; numbers stay numbers.
func TestCSVCellsAreNotFormulas(t *testing.T) {
	cases := []struct{ raw, want string }{
		{`"=HYPERLINK(\"http://evil\",\"x\")"`, `'=HYPERLINK("http://evil","x")`},
		{`"+1+cmd|' /C calc'!A0"`, `'+1+cmd|' /C calc'!A0`},
		{`"-2+3"`, `'-2+3`},
		{`"@SUM(A1)"`, `'@SUM(A1)`},
		{`"\tx"`, "'\tx"},
		{`"plain"`, `plain`},
		{`-5`, `-5`},
		{`{"a":1}`, `{"a":1}`},
		{``, ``},
	}
	for _, c := range cases {
		if got := csvValue(json.RawMessage(c.raw)); got != c.want {
			t.Errorf("csvValue(%s) = %q, want %q", c.raw, got, c.want)
		}
	}
	if got := csvText("=key"); got != "'=key" {
		t.Errorf("csvText(=key) = %q", got)
	}
}
