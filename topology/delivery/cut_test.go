package delivery

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/topology/topics"
)

func TestCommitMetaRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_780_000_000_123)
	for _, m := range []commitMeta{
		{cut: noCut},
		{at: at, cut: noCut},
		{at: at, cut: cut{last: 41}},
		{at: at, cut: cut{last: 41, since: at.Add(time.Hour)}},
	} {
		got, ok := parseMeta(m.String())
		if !ok || !got.at.Equal(m.at) || got.cut.last != m.cut.last || !got.cut.since.Equal(m.cut.since) {
			t.Errorf("parseMeta(%q) = %+v, %v; want %+v", m.String(), got, ok, m)
		}
	}
	for _, bad := range []string{"", "sluice/1", "sluice/1 1 2", "sluice/1 1 -2 0", "sluice/1 a 1 0", "sluice/2 1 1 0", "sluice/1 1 1 0 9"} {
		if m, ok := parseMeta(bad); ok || m.cut.last != -1 {
			t.Errorf("parseMeta(%q) = %+v, %v; want no cut", bad, m, ok)
		}
	}
}

// Commit metadata comes from the broker, which anyone with group access may
// have written: it parses or means no cut, never panics.
func FuzzParseMeta(f *testing.F) {
	f.Add("sluice/1 1780000000123 41 0")
	f.Add("sluice/1 0 -1 0")
	f.Add("sluice/1 9 9 9 9")
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseMeta(s)
		if !ok {
			if m.cut.last != -1 {
				t.Fatalf("rejected %q but kept cut %d", s, m.cut.last)
			}
			return
		}
		again, ok := parseMeta(m.String())
		if !ok || again.cut.last != m.cut.last || !again.at.Equal(m.at) || !again.cut.since.Equal(m.cut.since) {
			t.Fatalf("%q → %q does not round-trip", s, m.String())
		}
	})
}

// Dead-letter origins are read back from headers anyone can write.
func FuzzParseOrigin(f *testing.F) {
	f.Add([]byte("3/12345"))
	f.Add([]byte("/"))
	f.Fuzz(func(t *testing.T, v []byte) {
		p, o, ok := topics.ParseOrigin(v)
		if !ok {
			return
		}
		if p2, o2, ok2 := topics.ParseOrigin(topics.Origin(p, o)); !ok2 || p2 != p || o2 != o {
			t.Fatalf("%q → %d/%d does not round-trip", v, p, o)
		}
	})
}
