package suppress

import (
	"errors"
	"testing"
	"time"
)

func linkValue(t testing.TB, user string) []byte {
	t.Helper()
	v, err := EncodeLink(Link{UserID: user, At: time.Unix(1, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIdentitiesApply(t *testing.T) {
	type op struct {
		key     string
		value   []byte
		wantErr error
	}
	cases := []struct {
		name   string
		ops    []op
		anon   string
		user   string
		linked bool
		len    int
	}{
		{"link", []op{{"acme/a1", linkValue(t, "u1"), nil}}, "a1", "u1", true, 1},
		{"other user", []op{{"acme/a1", linkValue(t, "u1"), nil}}, "a1", "u2", false, 1},
		{"relink replaces", []op{{"acme/a1", linkValue(t, "u1"), nil}, {"acme/a1", linkValue(t, "u2"), nil}}, "a1", "u2", true, 1},
		{"relink drops old", []op{{"acme/a1", linkValue(t, "u1"), nil}, {"acme/a1", linkValue(t, "u2"), nil}}, "a1", "u1", false, 1},
		{"tombstone unlinks", []op{{"acme/a1", linkValue(t, "u1"), nil}, {"acme/a1", nil, nil}}, "a1", "u1", false, 0},
		{"bad value keeps old link", []op{{"acme/a1", linkValue(t, "u1"), nil}, {"acme/a1", []byte(`{"userId":""}`), ErrBadValue}}, "a1", "u1", true, 1},
		{"garbage value keeps old link", []op{{"acme/a1", linkValue(t, "u1"), nil}, {"acme/a1", []byte(`nope`), ErrBadValue}}, "a1", "u1", true, 1},
		{"bad key", []op{{"acme", linkValue(t, "u1"), ErrBadKey}, {"acme/", linkValue(t, "u1"), ErrBadKey}, {"/a1", linkValue(t, "u1"), ErrBadKey}}, "a1", "u1", false, 0},
		{"anon id with slash", []op{{"acme/a/1", linkValue(t, "u1"), nil}}, "a/1", "u1", true, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := NewIdentities(NewHasher())
			m.MarkCaughtUp()
			for _, o := range c.ops {
				if err := m.Apply([]byte(o.key), o.value); !errors.Is(err, o.wantErr) {
					t.Fatalf("Apply(%s) err = %v, want %v", o.key, err, o.wantErr)
				}
			}
			got, err := m.Linked("acme", c.anon, c.user)
			if err != nil || got != c.linked {
				t.Errorf("Linked(%s,%s) = %v, %v; want %v", c.anon, c.user, got, err, c.linked)
			}
			if m.Len() != c.len {
				t.Errorf("Len = %d, want %d", m.Len(), c.len)
			}
		})
	}
}

func TestIdentitiesNotReady(t *testing.T) {
	m := NewIdentities(NewHasher())
	if _, err := m.Linked("acme", "a", "u"); !errors.Is(err, ErrNotReady) {
		t.Fatalf("err = %v, want ErrNotReady", err)
	}
}

func TestLinkCodec(t *testing.T) {
	if _, err := LinkKey("a/b", "x"); !errors.Is(err, ErrBadKey) {
		t.Errorf("LinkKey with / in workspace: %v", err)
	}
	if _, err := LinkKey("acme", ""); !errors.Is(err, ErrBadKey) {
		t.Errorf("LinkKey empty anon: %v", err)
	}
	k, err := LinkKey("acme", "a1")
	if err != nil || string(k) != "acme/a1" {
		t.Errorf("LinkKey = %q, %v", k, err)
	}
	if _, err := EncodeLink(Link{}); !errors.Is(err, ErrBadValue) {
		t.Errorf("EncodeLink empty: %v", err)
	}
	l, err := DecodeLink([]byte(`{"userId":"u1","at":"2026-01-02T03:04:05Z"}`))
	if err != nil || l.UserID != "u1" || l.At.Year() != 2026 {
		t.Errorf("DecodeLink = %+v, %v", l, err)
	}
	if l, err := DecodeLink([]byte(`{"userId":"u\"2"}`)); err != nil || l.UserID != `u"2` || !l.At.IsZero() {
		t.Errorf("DecodeLink without at = %+v, %v", l, err)
	}
	for _, bad := range []string{``, `{`, `[]`, `"u1"`, `{"userId":""}`, `{"userId":7}`, `{"userId":null}`, `{"user":"u1"}`,
		`{"userId":"u1","at":"yesterday"}`, `{"userId":"u1","at":5}`, `{"userId":"u1"} trailing`} {
		if _, err := DecodeLink([]byte(bad)); !errors.Is(err, ErrBadValue) {
			t.Errorf("DecodeLink(%s) = %v, want ErrBadValue", bad, err)
		}
	}
}

func FuzzDecodeLink(f *testing.F) {
	f.Add([]byte(`{"userId":"u1","at":"2026-01-02T03:04:05.123Z"}`))
	f.Add([]byte(`{"userId":"\u00e9\ud83d\ude00","at":null}`))
	f.Fuzz(func(t *testing.T, value []byte) {
		l, err := DecodeLink(value)
		if err != nil {
			return
		}
		v, err := EncodeLink(l)
		if err != nil {
			t.Fatalf("EncodeLink(%+v) after a successful decode: %v", l, err)
		}
		again, err := DecodeLink(v)
		if err != nil || again.UserID != l.UserID || !again.At.Equal(l.At) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", v, again, err, l)
		}
	})
}
