package regulator

import (
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/suppress"
)

// A deleted user logs in from a new device after the deletion ended: the
// device's anonymousId gets a regulation of its own (suppressed, its rows
// deleted, the deletion forwarded), recorded on the ended regulation. A
// DELETE_ONLY subject linked the same way is not followed.
func TestDeletionFollowsLinksMadeAfterTheEnd(t *testing.T) {
	e := newEnv(t, nil)
	s := openService(t, e.b, e.cfg)
	runRegulator(t, s)
	swd := e.file(t, s, SuppressWithDelete, "u1")
	del := e.file(t, s, DeleteOnly, "u3")
	for _, id := range []string{swd, del} {
		if r := waitFor(t, s, id, terminal); r.OverallStatus != Finished {
			t.Fatalf("%s: %s", id, r.OverallStatus)
		}
	}

	// The new devices' events reached the warehouse before the logins.
	insertAnonymousTracks(t, e, "a9", "a8")
	link := func(anon, user string) *kgo.Record {
		k, _ := suppress.LinkKey(testWorkspace, anon)
		v, _ := suppress.EncodeLink(suppress.Link{UserID: user, At: time.Now()})
		return &kgo.Record{Topic: "sluice.identities", Key: k, Value: v}
	}
	produceRecords(t, e.b, link("a8", "u3"), link("a9", "u1"))

	r := waitFor(t, s, swd, func(r *Regulation) bool { return len(r.LateLinks) > 0 })
	late := r.LateLinks[0]
	if len(r.LateLinks) != 1 || late.UserID != "u1" || late.AnonymousID != "a9" || late.Regulation == "" {
		t.Fatalf("late links %+v, want a9 of u1 with its regulation", r.LateLinks)
	}
	child := waitFor(t, s, late.Regulation, terminal)
	if child.OverallStatus != Finished || child.Request.RegulationType != SuppressWithDelete ||
		child.Request.SubjectType != AnonymousID || strings.Join(child.Request.SubjectIDs, ",") != "a9" {
		t.Fatalf("follow-up regulation %+v", child)
	}
	if child.FiledBy == nil || *child.FiledBy != FollowActor {
		t.Errorf("follow-up filed by %+v, want %+v", child.FiledBy, FollowActor)
	}
	if n := rowsOf(t, e.conn, "tracks", "anonymous_id", "a9"); n != 0 {
		t.Errorf("%d rows of a9 left after the follow-up finished", n)
	}
	if sup := latestRecords(t, e.b.Addr(), "sluice.suppressions")["acme/ANONYMOUS_ID/a9"]; sup == nil || sup.Value == nil {
		t.Errorf("a9 not suppressed: %v", sup)
	}
	forwarded := false
	for _, c := range e.hooks.Calls() {
		forwarded = forwarded || strings.Contains(stringOf(c["anonymousIds"]), "a9")
	}
	if !forwarded {
		t.Errorf("the deletion of a9 was not forwarded: %v", e.hooks.Calls())
	}

	// Both links were read in the same pass: u3's DELETE_ONLY was not followed.
	if r, _, _ := s.Get(t.Context(), del); len(r.LateLinks) != 0 {
		t.Errorf("DELETE_ONLY followed a later link: %+v", r.LateLinks)
	}
	if n := rowsOf(t, e.conn, "tracks", "anonymous_id", "a8"); n != 1 {
		t.Errorf("a8, linked to a DELETE_ONLY subject after the end, has %d rows, want 1", n)
	}
	// Refiling is idempotent: the same link seen again files nothing new.
	if again := waitFor(t, s, swd, terminal); len(again.LateLinks) != 1 {
		t.Errorf("late links %+v after the follow-up", again.LateLinks)
	}
}

func insertAnonymousTracks(t *testing.T, e *env, anons ...string) {
	t.Helper()
	b, err := e.conn.PrepareBatch(t.Context(), "INSERT INTO tracks")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range anons {
		if err := b.Append("late-"+a, testWorkspace, "", a, "Viewed", time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
}

func stringOf(v any) string {
	switch v := v.(type) {
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, stringOf(x))
		}
		return strings.Join(parts, ",")
	case string:
		return v
	}
	return ""
}
