package suppress

import "testing"

func newTestStage(t *testing.T) (*Stage, *Table, *Identities) {
	t.Helper()
	h := NewHasher()
	tab, ids := NewTable(h), NewIdentities(h)
	st, err := NewStage(tab, ids)
	if err != nil {
		t.Fatal(err)
	}
	return st, tab, ids
}

func TestDecide(t *testing.T) {
	st, tab, ids := newTestStage(t)
	for _, k := range [][]byte{
		mustKey(t, "acme", UserID, "bad-user"),
		mustKey(t, "acme", AnonymousID, "bad-anon"),
		mustKey(t, "other", UserID, "other-user"),
	} {
		if err := tab.Apply(k, []byte{'1'}); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []struct{ anon, user string }{
		{"anon-of-bad", "bad-user"},
		{"anon-of-good", "good-user"},
	} {
		k, _ := LinkKey("acme", l.anon)
		if err := ids.Apply(k, linkValue(t, l.user)); err != nil {
			t.Fatal(err)
		}
	}
	tab.MarkCaughtUp()
	ids.MarkCaughtUp()

	cases := []struct {
		name, ws, user, anon string
		want                 bool
		reason               Reason
	}{
		{"clean", "acme", "good-user", "a0", false, ReasonNone},
		{"user suppressed", "acme", "bad-user", "", true, ReasonUserID},
		{"user suppressed with clean anon", "acme", "bad-user", "a0", true, ReasonUserID},
		{"anon suppressed", "acme", "", "bad-anon", true, ReasonAnonymousID},
		{"anon suppressed under clean user", "acme", "good-user", "bad-anon", true, ReasonAnonymousID},
		{"anon linked to suppressed user", "acme", "", "anon-of-bad", true, ReasonLinkedUserID},
		{"linked anon with another userId", "acme", "new-user", "anon-of-bad", true, ReasonLinkedUserID},
		{"anon linked to clean user", "acme", "", "anon-of-good", false, ReasonNone},
		{"other workspace's subject", "acme", "other-user", "", false, ReasonNone},
		{"suppression is per workspace", "other", "bad-user", "", false, ReasonNone},
		{"link is per workspace", "other", "", "anon-of-bad", false, ReasonNone},
		{"no ids", "acme", "", "", false, ReasonNone},
	}
	for _, c := range cases {
		got, reason := st.Decide(c.ws, c.user, c.anon)
		if got != c.want || reason != c.reason {
			t.Errorf("%s: Decide(%s,%s,%s) = %v %q; want %v %q", c.name, c.ws, c.user, c.anon, got, reason, c.want, c.reason)
		}
	}
}

func TestDecideNotReady(t *testing.T) {
	for _, ready := range []struct{ table, ids bool }{{false, false}, {true, false}, {false, true}} {
		st, tab, ids := newTestStage(t)
		if ready.table {
			tab.MarkCaughtUp()
		}
		if ready.ids {
			ids.MarkCaughtUp()
		}
		if got, reason := st.Decide("acme", "u", "a"); !got || reason != ReasonNotReady {
			t.Errorf("ready %+v: Decide = %v %q; want true not_ready", ready, got, reason)
		}
	}
}

func TestNewStageNeedsOneHasher(t *testing.T) {
	if _, err := NewStage(NewTable(NewHasher()), NewIdentities(NewHasher())); err == nil {
		t.Fatal("NewStage accepted tables with different hashers")
	}
	if _, err := NewStage(nil, nil); err == nil {
		t.Fatal("NewStage accepted nil tables")
	}
}
