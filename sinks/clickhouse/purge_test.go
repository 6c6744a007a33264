package clickhouse

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/sinks"
	"github.com/sluicehq/sluice/sinks/sinktest"
)

// markedUser is one user of markedEvents: ids and an email that occur
// nowhere else, so a byte scan of the engine's files can look for them.
type markedUser struct {
	userID, anonymousID, orderID string
	mailbox                      string // of the email, mailbox@mail.example
}

// markers are the user's strings a scan looks for: only random text, as
// compression may store a shared suffix (@mail.example) as a back-reference.
func (u markedUser) markers() []string {
	return []string{u.userID, u.anonymousID, u.mailbox, u.orderID}
}

// markedEvents returns sinktest's events with every user's ids, email and
// an order id made unique (random text), and each user's markedUser.
func markedEvents(t *testing.T, n int) ([]schemas.Event, []markedUser) {
	t.Helper()
	users := make([]markedUser, sinktest.Users)
	for i := range users {
		random := func() string { return rand.Text()[:20] }
		users[i] = markedUser{userID: "u-" + random(), anonymousID: "a-" + random(), mailbox: "m-" + random(), orderID: "o-" + random()}
	}
	events := sinktest.Events("mark", n)
	for i := range events {
		e := &events[i]
		u := users[i%sinktest.Users]
		if e.UserID != "" {
			e.UserID = u.userID
		}
		e.AnonymousID = u.anonymousID
		if e.PreviousID != "" {
			e.PreviousID = u.anonymousID
		}
		if e.Type == schemas.Identify {
			e.Traits = []byte(fmt.Sprintf(`{"email":"%s@mail.example","plan":"pro"}`, u.mailbox))
		}
	}
	for i, u := range users {
		order := planned(fmt.Sprintf("order-%d", i), "Order Completed", 1, 0,
			fmt.Sprintf(`{"order_id":%q,"total":1,"currency":"USD","item_count":1}`, u.orderID))
		order.UserID, order.AnonymousID = u.userID, u.anonymousID
		events = append(events, order)
	}
	return events, users
}

// scanFiles reads every file under dir and reports which of the markers
// occur in any of them, and where: in the file's bytes, or, for a file of
// ClickHouse compressed blocks (a part's .bin files, as anyone with the disk
// could decompress them), in its decompressed bytes.
func scanFiles(t *testing.T, dir string, markers []string) map[string]string {
	t.Helper()
	found := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) { // removed while we walk: a part the engine dropped
				return nil
			}
			return err
		}
		if !de.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		plain, _ := io.ReadAll(compress.NewReader(bytes.NewReader(b))) // as far as it decompresses
		for _, m := range markers {
			if _, ok := found[m]; !ok && (bytes.Contains(b, []byte(m)) || bytes.Contains(plain, []byte(m))) {
				found[m] = path
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// enginePath is where the local engine keeps its files.
func (d *chDest) enginePath(t *testing.T) string {
	t.Helper()
	paths := d.strings(t, "SELECT path FROM system.disks WHERE name = 'default'")
	if len(paths) != 1 {
		t.Fatalf("disks: %v", paths)
	}
	return paths[0]
}

// After a Delete no query brings a subject's row back, whatever its
// settings; no mutation record names the subjects; and once PurgedBefore
// passes the Delete, no file of the engine holds any of their ids or
// values, while other users' are still there.
func TestDeleteThenPurgeLeavesNoTrace(t *testing.T) {
	d := newDest(t, func(c *Config) { c.Plans = shopPlans(t); c.PurgeWithin = 5 * time.Second })
	s := d.open(t)
	ctx := t.Context()
	events, users := markedEvents(t, 140)
	// Two batches, so tables have several parts.
	half := len(events) / 2
	for i, part := range [][]schemas.Event{events[:half], events[half:]} {
		if err := s.Write(ctx, sinktest.NewBatch("t", 0, int64(i*half), part)); err != nil {
			t.Fatal(err)
		}
	}
	subject, others := users[0], users[1:]
	var subjectMarkers, otherMarkers []string
	subjectMarkers = subject.markers()
	for _, u := range others {
		otherMarkers = append(otherMarkers, u.markers()...)
	}
	dir := d.enginePath(t)
	if found := scanFiles(t, dir, subjectMarkers); len(found) != len(subjectMarkers) {
		t.Fatalf("before the delete the scan finds %v of the subject's markers %v: the scan cannot see them", found, subjectMarkers)
	}

	req := sinks.DeleteRequest{Workspace: sinktest.Workspace, UserIDs: []string{subject.userID}, AnonymousIDs: []string{subject.anonymousID}}
	rec, err := s.Delete(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	deleted := time.Now()
	var before uint64
	for _, tc := range rec.Tables {
		before += tc.Before
	}
	if before == 0 {
		t.Fatal("the delete found no rows of the subject")
	}

	// No setting brings a row back: every subject table read whole with
	// apply_deleted_mask = 0 holds none of the subject's markers.
	tables := d.strings(t, "SELECT DISTINCT table FROM system.columns WHERE database = ? AND name = 'anonymous_id'", d.db)
	unmaskedCtx := ch.Context(ctx, ch.WithSettings(ch.Settings{"apply_deleted_mask": 0}))
	for _, tb := range tables {
		rows, err := d.conn.Query(unmaskedCtx, "SELECT formatRowNoNewline('JSONEachRow', *) FROM "+quoteIdent(d.db)+"."+quoteIdent(tb))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var row string
			if err := rows.Scan(&row); err != nil {
				t.Fatal(err)
			}
			n++
			for _, m := range subjectMarkers {
				if strings.Contains(row, m) {
					t.Errorf("%s with apply_deleted_mask = 0 returns a row of the subject: %.120s", tb, row)
				}
			}
		}
		rows.Close()
		if n == 0 && tb != "track_order_completed" {
			t.Errorf("%s is empty: other users' rows went too", tb)
		}
	}

	// No mutation record names the subject.
	for _, cmd := range d.strings(t, "SELECT command FROM system.mutations WHERE database = ?", d.db) {
		for _, m := range subjectMarkers {
			if strings.Contains(cmd, m) {
				t.Errorf("system.mutations names the subject: %s", cmd)
			}
		}
	}
	if sets := d.strings(t, "SELECT name FROM system.tables WHERE database = ? AND startsWith(name, ?)", d.db, idSetPrefix); len(sets) > 0 {
		t.Errorf("sets of ids left after the delete: %v", sets)
	}

	// The replaced parts leave the disk within PurgeWithin (with slack for
	// a loaded machine); the engine's own view says when.
	deadline := time.Now().Add(time.Minute)
	for {
		at, err := s.wh.PurgedBefore(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if at.After(deleted) {
			t.Logf("purged %s after the delete (bound %s)", at.Sub(deleted).Round(time.Millisecond), s.cfg.PurgeWithin)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("replaced parts still on disk a minute after the delete: %v",
				d.strings(t, "SELECT name FROM system.parts WHERE database = ? AND NOT active", d.db))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if found := scanFiles(t, dir, subjectMarkers); len(found) > 0 {
		for m, path := range found {
			t.Errorf("after the purge %s still holds the subject's %q", path, m)
		}
	}
	found := scanFiles(t, dir, otherMarkers)
	for _, m := range otherMarkers {
		if _, ok := found[m]; !ok {
			t.Errorf("after the purge the scan misses another user's %q", m)
		}
	}
}
