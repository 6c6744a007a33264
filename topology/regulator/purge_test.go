package regulator

import (
	"bytes"
	"crypto/rand"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicehq/sluice/sinks/clickhouse"
	"github.com/sluicehq/sluice/testenv/chlocal"
	"github.com/sluicehq/sluice/topology/config"
	"github.com/sluicehq/sluice/topology/topics"
)

// engineFiles reports which markers occur in any file of the local engine,
// read as bytes and, for ClickHouse's compressed blocks, decompressed.
func engineFiles(t *testing.T, srv *chlocal.Server, markers []string) map[string]bool {
	t.Helper()
	conn := connectCH(t, srv.Addr(), "default")
	var dir string
	if err := conn.QueryRow(t.Context(), "SELECT path FROM system.disks WHERE name = 'default'").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || !de.Type().IsRegular() {
			return nil // a part removed while we walk
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		plain, _ := io.ReadAll(compress.NewReader(bytes.NewReader(b)))
		for _, m := range markers {
			found[m] = found[m] || bytes.Contains(b, []byte(m)) || bytes.Contains(plain, []byte(m))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// A FINISHED deletion's record goes on: the regulator writes when the
// subject's rows left ClickHouse's disks, as the engine's list of parts
// shows it, and the compaction bound of the tombstoned topics. At the
// recorded time no file of the engine holds the subject's values, while
// another user's are still there.
func TestPurgeIsRecordedAfterFinished(t *testing.T) {
	br, _ := newBroker(t, "warehouse")
	srv, db := chlocal.ForTest(t)
	conn := connectCH(t, srv.Addr(), db)
	if err := conn.Exec(t.Context(), `CREATE TABLE tracks (message_id String, workspace LowCardinality(String), user_id String,
		anonymous_id String, email String) ENGINE = MergeTree ORDER BY (workspace, message_id)
		SETTINGS old_parts_lifetime = 2, cleanup_delay_period = 1, cleanup_delay_period_random_add = 1, max_cleanup_delay_period = 1`); err != nil {
		t.Fatal(err)
	}
	gone, kept := "gone-"+rand.Text(), "kept-"+rand.Text()
	batch, err := conn.PrepareBatch(t.Context(), "INSERT INTO tracks")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		for _, u := range []string{"u-gone", "u-kept"} {
			email := gone
			if u == "u-kept" {
				email = kept
			}
			if err := batch.Append(u+rand.Text(), testWorkspace, u, "", email); err != nil {
				t.Fatal(err)
			}
		}
		_ = i
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	if f := engineFiles(t, srv, []string{gone, kept}); !f[gone] || !f[kept] {
		t.Fatalf("before the delete the scan finds %v: it cannot see the values", f)
	}

	cfg, err := clickhouse.FromSettings("warehouse", map[string]any{"addr": srv.Addr(), "database": db, "purgeWithin": "5s"})
	if err != nil {
		t.Fatal(err)
	}
	wh, err := clickhouse.OpenWarehouse(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { wh.Close() })
	s := openService(t, br, Config{Warehouse: wh, Destinations: []Destination{{Name: "warehouse", Internal: true}}})
	runRegulator(t, s)

	id, _, err := s.Create(t.Context(), Body{RegulationType: SuppressWithDelete, SubjectType: UserID, SubjectIDs: []string{"u-gone"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	r := waitFor(t, s, id, terminal)
	if r.OverallStatus != Finished {
		t.Fatalf("%s: %+v", r.OverallStatus, r)
	}
	var left uint64
	if err := conn.QueryRow(ch.Context(t.Context(), ch.WithSettings(ch.Settings{"apply_deleted_mask": 0})),
		"SELECT count() FROM tracks WHERE email = ?", gone).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("FINISHED, yet apply_deleted_mask = 0 returns %d rows of the subject", left)
	}
	if p := r.Purge; p == nil || p.ClickHouse == nil || p.ClickHouse.UnreachableAt.IsZero() || p.ClickHouse.DueBy == nil ||
		!p.ClickHouse.DueBy.Equal(p.ClickHouse.UnreachableAt.Add(5*time.Second)) {
		t.Fatalf("FINISHED without a ClickHouse purge record: %+v", r.Purge)
	}

	r = waitFor(t, s, id, func(r *Regulation) bool {
		return r.Purge.ClickHouse.Status == Finished && r.Purge.Kafka != nil
	})
	c := r.Purge.ClickHouse
	if c.PurgedAt == nil || c.PurgedAt.Before(c.UnreachableAt) {
		t.Errorf("purged at %v, rows unreachable at %v", c.PurgedAt, c.UnreachableAt)
	}
	f := engineFiles(t, srv, []string{gone, kept})
	if f[gone] {
		t.Error("the regulation says purged, yet a file of the engine holds the subject's email")
	}
	if !f[kept] {
		t.Error("another user's email is gone from the engine's files")
	}
	t.Logf("purged %s after the rows became unreachable (bound 5s)", c.PurgedAt.Sub(c.UnreachableAt).Round(time.Millisecond))

	// The compaction bound comes from the tombstoned topics' configs.
	k := r.Purge.Kafka
	tc := config.Config{}.WithDefaults().Topics.Compaction
	names := topics.Names{Prefix: "sluice."}
	want := map[string]bool{names.Of(topics.Profiles): true, names.Of(topics.Consent): true}
	for _, topic := range k.Topics {
		delete(want, topic.Topic)
	}
	if len(want) > 0 || k.TombstonedAt.IsZero() {
		t.Fatalf("compaction bound %+v: topics %v missing", k, want)
	}
	if got := k.ValuesGoneBy.Sub(k.TombstonedAt); got != tc.Segment.Duration {
		t.Errorf("values gone %s after the tombstones, want segment.ms %s", got, tc.Segment.Duration)
	}
	if got := k.TombstonesGoneBy.Sub(k.TombstonedAt); got != tc.Segment.Duration+tc.DeleteRetention.Duration {
		t.Errorf("tombstones gone %s after them, want segment.ms + delete.retention.ms %s", got, tc.Segment.Duration+tc.DeleteRetention.Duration)
	}
}
