package consent

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestLookupFollowsLinks is the precedence of stored consent across
// identity links: the event's own ids first, then for a userId the latest
// record of its anonymousIds, for a linked anonymousId its userId's record
// and then the latest of the userId's anonymousIds.
func TestLookupFollowsLinks(t *testing.T) {
	const A, D, E = Mask(1), Mask(2), Mask(4) // analytics, ads, email
	grant := func(at int, cats ...string) []byte {
		m := map[string]bool{}
		for _, c := range cats {
			m[c] = true
		}
		return record(t, at, m)
	}
	type op struct {
		typ   SubjectType // "" for a link: id is the anonymousId, to the userId (or "" to unlink)
		id    string
		value []byte
		to    string
	}
	link := func(anon, user string) op { return op{id: anon, to: user} }
	cases := []struct {
		name       string
		ops        []op
		user, anon string
		want       Prefs
	}{
		{"anonymous consent, then login: server-side event with userId only",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1")}, "u1", "", Prefs{Known: true, Granted: A}},
		{"link first, consent later",
			[]op{link("a1", "u1"), {AnonymousID, "a1", grant(1, "analytics"), ""}}, "u1", "", Prefs{Known: true, Granted: A}},
		{"no link, no consent for the userId",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a2", "u1")}, "u1", "", Prefs{}},
		{"the userId's own record wins over a later linked one",
			[]op{{UserID, "u1", grant(1, "ads"), ""}, {AnonymousID, "a1", grant(9, "analytics"), ""}, link("a1", "u1")},
			"u1", "", Prefs{Known: true, Granted: D}},
		{"the event's own anonymousId wins over linked ones",
			[]op{{AnonymousID, "a1", grant(9, "analytics"), ""}, link("a1", "u1"), {AnonymousID, "a2", grant(1, "ads"), ""}, link("a2", "u1")},
			"u1", "a2", Prefs{Known: true, Granted: D}},
		{"the latest of several linked records",
			[]op{{AnonymousID, "a1", grant(5, "analytics"), ""}, {AnonymousID, "a2", grant(7, "ads"), ""}, {AnonymousID, "a3", grant(6, "email"), ""},
				link("a1", "u1"), link("a2", "u1"), link("a3", "u1")}, "u1", "", Prefs{Known: true, Granted: D}},
		{"linked records captured at once grant only what all grant",
			[]op{{AnonymousID, "a1", grant(5, "analytics", "ads"), ""}, {AnonymousID, "a2", grant(5, "ads", "email"), ""},
				link("a1", "u1"), link("a2", "u1")}, "u1", "", Prefs{Known: true, Granted: D}},
		{"anonymous event of a linked anonymousId: the userId's record",
			[]op{{UserID, "u1", grant(1, "email"), ""}, link("a2", "u1")}, "", "a2", Prefs{Known: true, Granted: E}},
		{"anonymous event of a linked anonymousId: the userId's other devices",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1"), link("a2", "u1")}, "", "a2", Prefs{Known: true, Granted: A}},
		{"unlinked anonymous event",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1")}, "", "a2", Prefs{}},
		{"a withdrawal under the anonymousId follows the link",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1"), {AnonymousID, "a1", grant(2), ""}}, "u1", "", Prefs{Known: true}},
		{"unlinked (tombstone)",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1"), link("a1", "")}, "u1", "", Prefs{}},
		{"consent forgotten (tombstone)",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1"), {AnonymousID, "a1", nil, ""}}, "u1", "", Prefs{}},
		{"relinked to another user: the old one loses it",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1"), link("a1", "u2")}, "u1", "", Prefs{}},
		{"relinked to another user: the new one has it",
			[]op{{AnonymousID, "a1", grant(1, "analytics"), ""}, link("a1", "u1"), link("a1", "u2")}, "u2", "", Prefs{Known: true, Granted: A}},
		{"unlinking one of three keeps the others",
			[]op{{AnonymousID, "a1", grant(3, "analytics"), ""}, {AnonymousID, "a2", grant(2, "ads"), ""}, {AnonymousID, "a3", grant(1, "email"), ""},
				link("a1", "u1"), link("a2", "u1"), link("a3", "u1"), link("a2", ""), link("a1", "")}, "u1", "", Prefs{Known: true, Granted: E}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore(testCategories(t))
			for _, o := range c.ops {
				var err error
				if o.typ == "" {
					err = s.ApplyLink([]byte("acme/"+o.id), o.to)
				} else {
					err = s.Apply(key(t, o.typ, o.id), o.value)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			s.MarkCaughtUp()
			if got, err := s.Lookup("acme", c.user, c.anon); err != nil || got != c.want {
				t.Fatalf("Lookup(%q, %q) = %+v, %v; want %+v", c.user, c.anon, got, err, c.want)
			}
			if got, _ := s.Lookup("other", c.user, c.anon); got != (Prefs{}) {
				t.Fatalf("another workspace sees %+v", got)
			}
		})
	}
}

func TestApplyLinkBadKey(t *testing.T) {
	s := NewStore(testCategories(t))
	for _, k := range []string{"", "acme", "acme/", "/a1"} {
		if err := s.ApplyLink([]byte(k), "u1"); !errors.Is(err, ErrBadKey) {
			t.Errorf("ApplyLink(%q) err = %v", k, err)
		}
	}
	if s.Links() != 0 {
		t.Fatalf("Links = %d", s.Links())
	}
	s.Link("acme", "a1", "u1")
	s.Link("acme", "a1", "u1")
	s.Link("acme", "a2", "u1")
	s.Unlink("acme", "a3")
	if s.Links() != 2 {
		t.Fatalf("Links = %d, want 2", s.Links())
	}
}

// TestLinksConcurrent relinks and re-grants many anonymousIds while readers
// check a linked user whose consent never changes. Run with -race.
func TestLinksConcurrent(t *testing.T) {
	s := NewStore(testCategories(t))
	s.Apply(key(t, AnonymousID, "steady-anon"), record(t, 1, map[string]bool{"analytics": true}))
	s.Link("acme", "steady-anon", "steady")
	s.MarkCaughtUp()
	var stop atomic.Bool
	var wg sync.WaitGroup
	var wrong atomic.Int64
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if p, err := s.Lookup("acme", "steady", ""); err != nil || p != (Prefs{Known: true, Granted: 1}) {
					wrong.Add(1)
				}
				s.Lookup("acme", "u7", "")
				s.Lookup("acme", "", "a7")
			}
		}()
	}
	grant := record(t, 2, map[string]bool{"ads": true})
	for i := 0; i < 20000; i++ {
		anon := fmt.Sprint("a", i%100)
		switch i % 4 {
		case 0:
			s.Link("acme", anon, fmt.Sprint("u", i%7))
		case 1:
			s.Apply(key(t, AnonymousID, anon), grant)
		case 2:
			s.Unlink("acme", anon)
		case 3:
			s.Apply(key(t, AnonymousID, anon), nil)
		}
	}
	stop.Store(true)
	wg.Wait()
	if wrong.Load() > 0 {
		t.Fatalf("%d wrong answers for a linked user whose consent never changed", wrong.Load())
	}
}
