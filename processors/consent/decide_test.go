package consent

import (
	"fmt"
	"testing"
)

// TestDecideMatrix is the full matrix of DESIGN guarantee 5: event consent ×
// stored consent × whenMissing × destination mapping. Preferences: "-" none,
// "0" known but granting nothing, "A" analytics, "AB" analytics and ads.
// Destinations: a = [analytics], ab = [analytics, ads], unmapped = [].
func TestDecideMatrix(t *testing.T) {
	cats, err := NewCategories([]string{"analytics", "ads", "email"})
	if err != nil {
		t.Fatal(err)
	}
	prefs := map[string]Prefs{
		"-":  {},
		"0":  {Known: true},
		"A":  {Known: true, Granted: mustMask(t, cats, "analytics")},
		"AB": {Known: true, Granted: mustMask(t, cats, "analytics", "ads")},
	}
	dests := []Mask{mustMask(t, cats, "analytics"), mustMask(t, cats, "analytics", "ads"), 0}
	cases := []struct {
		event, stored   string
		whenMissing     WhenMissing
		a, ab, unmapped string
	}{
		{"-", "-", Deny, "deny/whenMissing", "deny/whenMissing", "allow/unmapped"},
		{"-", "-", Allow, "allow/whenMissing", "allow/whenMissing", "allow/unmapped"},
		{"-", "0", Deny, "deny/stored", "deny/stored", "allow/unmapped"},
		{"-", "0", Allow, "deny/stored", "deny/stored", "allow/unmapped"},
		{"-", "A", Deny, "allow/stored", "deny/stored", "allow/unmapped"},
		{"-", "A", Allow, "allow/stored", "deny/stored", "allow/unmapped"},
		{"-", "AB", Deny, "allow/stored", "allow/stored", "allow/unmapped"},
		{"-", "AB", Allow, "allow/stored", "allow/stored", "allow/unmapped"},
		{"0", "-", Deny, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "-", Allow, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "0", Deny, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "0", Allow, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "A", Deny, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "A", Allow, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "AB", Deny, "deny/event", "deny/event", "allow/unmapped"},
		{"0", "AB", Allow, "deny/event", "deny/event", "allow/unmapped"},
		{"A", "-", Deny, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "-", Allow, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "0", Deny, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "0", Allow, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "A", Deny, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "A", Allow, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "AB", Deny, "allow/event", "deny/event", "allow/unmapped"},
		{"A", "AB", Allow, "allow/event", "deny/event", "allow/unmapped"},
		{"AB", "-", Deny, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "-", Allow, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "0", Deny, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "0", Allow, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "A", Deny, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "A", Allow, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "AB", Deny, "allow/event", "allow/event", "allow/unmapped"},
		{"AB", "AB", Allow, "allow/event", "allow/event", "allow/unmapped"},
	}
	if len(cases) != 4*4*2 {
		t.Fatalf("matrix has %d rows, want 32", len(cases))
	}
	for _, c := range cases {
		for i, want := range []string{c.a, c.ab, c.unmapped} {
			allow, src := Decide(dests[i], prefs[c.event], prefs[c.stored], c.whenMissing)
			verdict := "deny"
			if allow {
				verdict = "allow"
			}
			if got := fmt.Sprintf("%s/%s", verdict, src); got != want {
				t.Errorf("event %s, stored %s, whenMissing %d, dest %v: got %s, want %s",
					c.event, c.stored, c.whenMissing, cats.Names(dests[i]), got, want)
			}
		}
	}
}

func mustMask(t *testing.T, c *Categories, names ...string) Mask {
	t.Helper()
	m, err := c.Mask(names)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseWhenMissing(t *testing.T) {
	for in, want := range map[string]WhenMissing{"": Deny, "deny": Deny, "allow": Allow} {
		if got, err := ParseWhenMissing(in); err != nil || got != want {
			t.Errorf("ParseWhenMissing(%q) = %v, %v", in, got, err)
		}
	}
	if got, err := ParseWhenMissing("Allow"); err == nil || got != Deny {
		t.Errorf("ParseWhenMissing(Allow) = %v, %v; want Deny and an error", got, err)
	}
	var zero WhenMissing
	if zero != Deny {
		t.Error("zero WhenMissing is not Deny")
	}
}

func TestCategories(t *testing.T) {
	for _, bad := range [][]string{{"a", "a"}, {""}, make([]string, 65)} {
		if _, err := NewCategories(bad); err == nil {
			t.Errorf("NewCategories(%d names %q…) accepted", len(bad), bad[0])
		}
	}
	many := make([]string, 64)
	for i := range many {
		many[i] = fmt.Sprint("c", i)
	}
	c, err := NewCategories(many)
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Mask([]string{"c0", "c63"})
	if err != nil || m != 1|1<<63 {
		t.Fatalf("Mask = %x, %v", m, err)
	}
	if got := c.Names(m); len(got) != 2 || got[0] != "c0" || got[1] != "c63" {
		t.Fatalf("Names = %v", got)
	}
	if _, err := c.Mask([]string{"c64"}); err == nil {
		t.Fatal("Mask accepted an unknown category")
	}
	if m, err := c.Mask(nil); err != nil || m != 0 {
		t.Fatalf("Mask(nil) = %x, %v", m, err)
	}
	if !Mask(0b111).Covers(0b101) || Mask(0b101).Covers(0b111) || !Mask(0).Covers(0) {
		t.Fatal("Covers is wrong")
	}
}

func TestPrefsFromMap(t *testing.T) {
	c := testCategories(t)
	if p := c.PrefsFromMap(nil); p != (Prefs{}) {
		t.Errorf("PrefsFromMap(nil) = %+v", p)
	}
	if p := c.PrefsFromMap(map[string]bool{}); p != (Prefs{Known: true}) {
		t.Errorf("PrefsFromMap({}) = %+v", p)
	}
	if p := c.PrefsFromMap(map[string]bool{"ads": true, "email": false, "other": true}); p != (Prefs{Known: true, Granted: 2}) {
		t.Errorf("PrefsFromMap = %+v", p)
	}
}
