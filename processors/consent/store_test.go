package consent

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func record(t testing.TB, at int, prefs map[string]bool) []byte {
	t.Helper()
	v, err := EncodeRecord(Record{CategoryPreferences: prefs, CapturedAt: time.Unix(int64(at), 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func key(t testing.TB, typ SubjectType, id string) []byte {
	t.Helper()
	k, err := Key("acme", typ, id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestStoreLookup(t *testing.T) {
	const A, D = Mask(1), Mask(2)
	type op struct {
		typ   SubjectType
		id    string
		value []byte
		err   error
	}
	cases := []struct {
		name       string
		ops        []op
		user, anon string
		want       Prefs
	}{
		{"nothing stored", nil, "u1", "a1", Prefs{}},
		{"user's consent", []op{{UserID, "u1", record(t, 1, map[string]bool{"analytics": true}), nil}}, "u1", "", Prefs{Known: true, Granted: A}},
		{"anonymous consent", []op{{AnonymousID, "a1", record(t, 1, map[string]bool{"ads": true}), nil}}, "", "a1", Prefs{Known: true, Granted: D}},
		{"anonymous consent under a userId", []op{{AnonymousID, "a1", record(t, 1, map[string]bool{"ads": true}), nil}}, "u1", "a1", Prefs{Known: true, Granted: D}},
		{"later capture wins (user)", []op{
			{UserID, "u1", record(t, 5, map[string]bool{"analytics": true}), nil},
			{AnonymousID, "a1", record(t, 4, map[string]bool{"ads": true}), nil}}, "u1", "a1", Prefs{Known: true, Granted: A}},
		{"later capture wins (anonymous)", []op{
			{UserID, "u1", record(t, 3, map[string]bool{"analytics": true}), nil},
			{AnonymousID, "a1", record(t, 4, map[string]bool{"ads": true}), nil}}, "u1", "a1", Prefs{Known: true, Granted: D}},
		{"tie grants only what both grant", []op{
			{UserID, "u1", record(t, 4, map[string]bool{"analytics": true, "ads": true}), nil},
			{AnonymousID, "a1", record(t, 4, map[string]bool{"ads": true}), nil}}, "u1", "a1", Prefs{Known: true, Granted: D}},
		{"replaced", []op{
			{UserID, "u1", record(t, 1, map[string]bool{"analytics": true}), nil},
			{UserID, "u1", record(t, 2, map[string]bool{"analytics": false}), nil}}, "u1", "", Prefs{Known: true}},
		{"tombstone forgets", []op{
			{UserID, "u1", record(t, 1, map[string]bool{"analytics": true}), nil},
			{UserID, "u1", nil, nil}}, "u1", "", Prefs{}},
		{"unreadable value grants nothing", []op{
			{UserID, "u1", record(t, 1, map[string]bool{"analytics": true}), nil},
			{UserID, "u1", []byte(`{"categoryPreferences":"all"}`), ErrMalformed}}, "u1", "", Prefs{Known: true}},
		{"value without preferences grants nothing", []op{
			{UserID, "u1", record(t, 1, map[string]bool{"analytics": true}), nil},
			{UserID, "u1", []byte(`{}`), ErrNoPreferences}}, "u1", "", Prefs{Known: true}},
		{"unknown categories ignored", []op{{UserID, "u1", record(t, 1, map[string]bool{"other": true}), nil}}, "u1", "", Prefs{Known: true}},
		{"other user's consent", []op{{UserID, "u2", record(t, 1, map[string]bool{"analytics": true}), nil}}, "u1", "", Prefs{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewStore(testCategories(t))
			for _, o := range c.ops {
				if err := s.Apply(key(t, o.typ, o.id), o.value); !errors.Is(err, o.err) {
					t.Fatalf("Apply(%s) err = %v, want %v", o.id, err, o.err)
				}
			}
			s.MarkCaughtUp()
			got, err := s.Lookup("acme", c.user, c.anon)
			if err != nil || got != c.want {
				t.Fatalf("Lookup = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

func TestStoreNotReadyAndBadKey(t *testing.T) {
	s := NewStore(testCategories(t))
	if got, err := s.Lookup("acme", "u1", ""); !errors.Is(err, ErrNotReady) || got != denyAll {
		t.Fatalf("Lookup before ready = %+v, %v", got, err)
	}
	for _, k := range []string{"acme", "acme/USER_ID/", "acme/EMAIL/x"} {
		if err := s.Apply([]byte(k), []byte(`{"categoryPreferences":{}}`)); !errors.Is(err, ErrBadKey) {
			t.Errorf("Apply(%q) err = %v", k, err)
		}
	}
	if s.Len() != 0 {
		t.Fatalf("Len = %d", s.Len())
	}
	s.Apply(key(t, UserID, "u1"), record(t, 1, map[string]bool{}))
	s.Apply(key(t, UserID, "u1"), record(t, 2, map[string]bool{}))
	s.Apply(key(t, UserID, "u2"), record(t, 1, map[string]bool{}))
	s.Apply(key(t, UserID, "u2"), nil)
	s.Apply(key(t, UserID, "u3"), nil)
	if s.Len() != 1 {
		t.Fatalf("Len = %d, want 1", s.Len())
	}
}

// TestStoreConcurrent flips many users' consent while readers check a user
// whose consent never changes. Run with -race.
func TestStoreConcurrent(t *testing.T) {
	s := NewStore(testCategories(t))
	s.Apply(key(t, UserID, "steady"), record(t, 1, map[string]bool{"analytics": true}))
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
				s.Lookup("acme", "u7", "a7")
			}
		}()
	}
	grant := record(t, 2, map[string]bool{"ads": true})
	for i := 0; i < 20000; i++ {
		k := key(t, UserID, fmt.Sprint("u", i%100))
		if i%3 == 0 {
			s.Apply(k, nil)
		} else {
			s.Apply(k, grant)
		}
	}
	stop.Store(true)
	wg.Wait()
	if wrong.Load() > 0 {
		t.Fatalf("%d wrong answers for a user whose consent never changed", wrong.Load())
	}
}
