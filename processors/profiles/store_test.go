package profiles

import (
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func identify(t *testing.T, s *Store, user, traits string) Profile {
	t.Helper()
	key, value, err := s.Identify("acme", user, []byte(traits), at, "web")
	if err != nil {
		t.Fatal(err)
	}
	if string(key) != "acme/"+user {
		t.Fatalf("key %q", key)
	}
	p, err := Decode(value)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStoreMergesAcrossCommittedAndPending(t *testing.T) {
	s := NewStore()
	if _, _, err := s.Identify("acme", "u1", []byte(`{}`), at, "web"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("Identify before catch-up: %v, want ErrNotReady", err)
	}
	committed, _ := Encode(Profile{Traits: []byte(`{"email":"a@b.c","plan":"free"}`), UpdatedAt: at, Source: "web"})
	if err := s.Apply([]byte("acme/u1"), committed); err != nil {
		t.Fatal(err)
	}
	s.MarkCaughtUp()

	if p := identify(t, s, "u1", `{"plan":"pro"}`); string(p.Traits) != `{"email":"a@b.c","plan":"pro"}` {
		t.Errorf("first merge: %s", p.Traits)
	}
	// A second call in the same transaction merges onto the first.
	if p := identify(t, s, "u1", `{"seats":3}`); string(p.Traits) != `{"email":"a@b.c","plan":"pro","seats":3}` {
		t.Errorf("second merge: %s", p.Traits)
	}
	// Aborted: the retry merges onto the committed profile, as the first try did.
	s.Abort()
	if p := identify(t, s, "u1", `{"plan":"pro"}`); string(p.Traits) != `{"email":"a@b.c","plan":"pro"}` {
		t.Errorf("after abort: %s", p.Traits)
	}
	s.Commit()
	if s.Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Len())
	}
	if p := identify(t, s, "u1", `{"seats":3}`); string(p.Traits) != `{"email":"a@b.c","plan":"pro","seats":3}` {
		t.Errorf("after commit: %s", p.Traits)
	}
	s.Commit()

	// A tombstone (a deletion) forgets the traits: the next identify starts over.
	if err := s.Apply([]byte("acme/u1"), nil); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 {
		t.Errorf("Len after tombstone = %d, want 0", s.Len())
	}
	if p := identify(t, s, "u1", `{"plan":"pro"}`); string(p.Traits) != `{"plan":"pro"}` {
		t.Errorf("after tombstone: %s", p.Traits)
	}
	// Workspaces do not share profiles.
	if _, v, _ := s.Identify("other", "u1", []byte(`{"x":1}`), at, "web"); string(mustDecode(t, v).Traits) != `{"x":1}` {
		t.Errorf("other workspace: %s", v)
	}
}

func TestStoreUnreadableValueForgetsTraits(t *testing.T) {
	s := NewStore()
	good, _ := Encode(Profile{Traits: []byte(`{"email":"a@b.c"}`)})
	s.Apply([]byte("acme/u1"), good)
	if err := s.Apply([]byte("acme/u1"), []byte(`{"traits":`)); err == nil {
		t.Error("unreadable value: no error")
	}
	s.MarkCaughtUp()
	if p := identify(t, s, "u1", `{"plan":"pro"}`); string(p.Traits) != `{"plan":"pro"}` {
		t.Errorf("merged onto traits that were replaced by an unreadable value: %s", p.Traits)
	}
	for _, bad := range []string{"acme", "/u1", "acme/", ""} {
		if err := s.Apply([]byte(bad), good); !errors.Is(err, ErrBadKey) {
			t.Errorf("Apply(%q): %v, want ErrBadKey", bad, err)
		}
	}
}

// Concurrent merges of different users, with the topic follower applying
// committed records at the same time, lose no trait.
func TestStoreConcurrent(t *testing.T) {
	s := NewStore()
	s.MarkCaughtUp()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user := string(rune('a' + w))
			for i := range 200 {
				s.Identify("acme", user, []byte(`{"t`+itoa(i)+`":true}`), at, "web")
				s.Apply([]byte("acme/other"+user), []byte(`{"traits":{"x":1}}`))
			}
		}()
	}
	wg.Wait()
	s.Commit()
	for w := range 4 {
		p := identify(t, s, string(rune('a'+w)), `{}`)
		var n int
		for range mustObject(t, p.Traits) {
			n++
		}
		if n != 200 {
			t.Errorf("user %c has %d traits, want 200", 'a'+w, n)
		}
	}
	if s.Len() != 8 {
		t.Errorf("Len = %d, want 8", s.Len())
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func mustDecode(t *testing.T, v []byte) Profile {
	t.Helper()
	p, err := Decode(v)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustObject(t *testing.T, b []byte) map[string]any {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
