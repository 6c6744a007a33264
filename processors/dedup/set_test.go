package dedup

import (
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	day := 24 * time.Hour
	type step struct {
		key  uint64
		at   time.Duration // after t0
		want bool          // duplicate
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first passes, repeat drops", []step{{7, 0, false}, {7, time.Hour, true}}},
		{"last second of the window drops", []step{{7, 0, false}, {7, day - time.Second, true}}},
		{"window end passes again", []step{{7, 0, false}, {7, day, false}, {7, day + time.Hour, true}}},
		{"window runs from the latest sighting", []step{{7, 0, false}, {7, 23 * time.Hour, true}, {7, day + time.Second, true}, {7, 2*day + time.Second, false}}},
		{"out of order record drops", []step{{7, time.Hour, false}, {7, 0, true}}},
		{"other keys pass", []step{{7, 0, false}, {8, 0, false}, {9, 0, false}, {8, 1, true}}},
		{"key zero is a key", []step{{0, 0, false}, {0, time.Second, true}, {1, time.Second, true}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := New(day)
			for i, st := range c.steps {
				if got := s.Check(st.key, t0.Add(st.at)); got != st.want {
					t.Fatalf("step %d: Check(%d, +%v) = %v, want %v", i, st.key, st.at, got, st.want)
				}
			}
		})
	}
}

func TestSeenAdd(t *testing.T) {
	s := New(time.Hour)
	if s.Seen(5, t0) {
		t.Fatal("Seen before Add")
	}
	s.Add(5, t0)
	if !s.Seen(5, t0.Add(59*time.Minute)) || s.Seen(5, t0.Add(time.Hour)) {
		t.Fatal("Seen does not follow the window")
	}
	s.Add(5, t0.Add(30*time.Minute)) // a sighting restarts the window
	if !s.Seen(5, t0.Add(89*time.Minute)) || s.Seen(5, t0.Add(90*time.Minute)) {
		t.Fatal("Add did not restart the window")
	}
	if s.Len() != 1 {
		t.Fatalf("Len = %d", s.Len())
	}
}

func TestKey(t *testing.T) {
	s := New(time.Hour)
	if first, again := s.Key("acme", "m1"), s.Key("acme", "m1"); first != again {
		t.Fatal("Key is not stable")
	}
	for _, p := range [][2][2]string{
		{{"acme", "m1"}, {"acme", "m2"}},
		{{"acme", "m1"}, {"other", "m1"}},
		{{"ab", "c"}, {"a", "bc"}},
	} {
		if s.Key(p[0][0], p[0][1]) == s.Key(p[1][0], p[1][1]) {
			t.Errorf("Key%v == Key%v", p[0], p[1])
		}
	}
	if New(time.Hour).Key("acme", "m1") == s.Key("acme", "m1") {
		t.Error("two Sets share a seed")
	}
}

func TestWindowBounds(t *testing.T) {
	if w := New(0).Window(); w != time.Second {
		t.Errorf("New(0).Window() = %v", w)
	}
	if w := New(24 * time.Hour).Window(); w != 24*time.Hour {
		t.Errorf("Window() = %v", w)
	}
}

// model is the obvious map implementation Set must agree with.
type model struct {
	window time.Duration
	first  map[uint64]time.Time // latest sighting
}

func (m *model) check(k uint64, at time.Time) bool {
	f, ok := m.first[k]
	if !ok || at.After(f) {
		m.first[k] = at
	}
	return ok && at.Sub(f) < m.window
}

func (m *model) expire(now time.Time) {
	for k, f := range m.first {
		if now.Sub(f) >= m.window {
			delete(m.first, k)
		}
	}
}

// TestMatchesModel runs a long random stream with repeats, advancing time,
// explicit expiry, automatic expiry, growth and shrinking, and compares every
// answer and the surviving keys with the map model. Keys are drawn from a
// small range and some share low bits, so probe chains are long and
// backward-shift deletion is exercised.
func TestMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	window := time.Hour
	s := New(window)
	m := &model{window: window, first: map[uint64]time.Time{}}
	now := t0
	for step := 0; step < 300000; step++ {
		now = now.Add(time.Duration(rng.IntN(60)) * time.Millisecond * 100)
		var k uint64
		if rng.IntN(4) == 0 {
			k = uint64(rng.IntN(64)) << 40 // same low bits: one long chain
		} else {
			k = uint64(rng.IntN(50000)+1) * 0x9E3779B97F4A7C15
		}
		at := now.Add(-time.Duration(rng.IntN(3)) * time.Second).Truncate(time.Second)
		if got, want := s.Check(k, at), m.check(norm(k), at); got != want {
			t.Fatalf("step %d: Check(%d) = %v, model %v", step, k, got, want)
		}
		if step%50000 == 49999 {
			now = now.Add(time.Duration(rng.IntN(2)) * time.Hour)
			s.Expire(now)
			m.expire(now)
			if s.Len() != len(m.first) {
				t.Fatalf("step %d: Len = %d after Expire, model %d", step, s.Len(), len(m.first))
			}
			for k := range m.first {
				if _, ok := s.find(k); !ok {
					t.Fatalf("step %d: key %d lost by Expire", step, k)
				}
			}
		}
	}
}

func TestExpireShrinks(t *testing.T) {
	s := New(time.Minute)
	for i := 0; i < 100000; i++ {
		s.Check(uint64(i)+1, t0)
	}
	big := len(s.keys)
	s.Check(1<<62, t0.Add(time.Hour))
	if n := s.Expire(t0.Add(time.Hour)); n != 100000 {
		t.Fatalf("Expire removed %d, want 100000", n)
	}
	if s.Len() != 1 || len(s.keys) >= big {
		t.Fatalf("after Expire: Len %d, slots %d (were %d)", s.Len(), len(s.keys), big)
	}
	if !s.Seen(1<<62, t0.Add(time.Hour)) {
		t.Fatal("surviving key lost")
	}
}

// TestAutomaticExpiryBoundsMemory feeds a steady stream through a short
// window: the table must stay at the size the window needs, not grow.
func TestAutomaticExpiryBoundsMemory(t *testing.T) {
	s := New(10 * time.Second)
	for i := 0; i < 1_000_000; i++ {
		// 1000 events per second: about 10,000 live keys.
		s.Check(uint64(i)+1, t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(s.keys); n > 32768 {
		t.Fatalf("table grew to %d slots for ~10,000 live keys", n)
	}
}
