package regulator

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkDelete5000UsersOf10MRows times one SUPPRESS_WITH_DELETE of 5,000
// users, from filing to FINISHED, against a tracks table of 10 million rows
// (100,000 users, 100 rows each) on the local ClickHouse engine, with the
// warehouse as the only destination. Each iteration deletes other users.
//
//	go test -run XXX -bench Delete5000 -benchtime 1x ./topology/regulator
func BenchmarkDelete5000UsersOf10MRows(b *testing.B) {
	const users, perUser, batch = 100_000, 100, 5000
	br, _ := newBroker(b, "warehouse")
	srv, conn, db := newWarehouse(b)
	ctx := b.Context()
	start := time.Now()
	if err := conn.Exec(ctx, fmt.Sprintf(`INSERT INTO tracks SELECT toString(number), '%s', 'u' || toString(number %% %d),
		'', 'Clicked', toDateTime64('2026-01-02 03:04:05', 3, 'UTC') FROM numbers(%d)`, testWorkspace, users, users*perUser)); err != nil {
		b.Fatal(err)
	}
	b.Logf("inserted %d rows in %s", users*perUser, time.Since(start).Round(time.Millisecond))
	wh := openWarehouse(b, srv.Addr(), db)
	s := openService(b, br, Config{Warehouse: wh, Destinations: []Destination{{Name: "warehouse", Internal: true}}})
	runRegulator(b, s)
	if b.N*batch > users {
		b.Fatalf("-benchtime %dx: at most %d iterations", b.N, users/batch)
	}
	b.ResetTimer()
	var total time.Duration
	for i := range b.N {
		ids := make([]string, batch)
		for j := range ids {
			ids[j] = fmt.Sprintf("u%d", i*batch+j)
		}
		t0 := time.Now()
		id, _, err := s.Create(ctx, Body{RegulationType: SuppressWithDelete, SubjectType: UserID, SubjectIDs: ids}, "")
		if err != nil {
			b.Fatal(err)
		}
		acked := time.Since(t0)
		r := waitFor(b, s, id, terminal)
		took := time.Since(t0)
		total += took
		if r.OverallStatus != Finished {
			b.Fatalf("%s: %+v", r.OverallStatus, r)
		}
		b.Logf("suppression acknowledged after %s; FINISHED after %s; rows %d → %d",
			acked.Round(time.Millisecond), took.Round(time.Millisecond), *r.step(StepClickHouse).Receipt.RowsBefore, *r.step(StepClickHouse).Receipt.RowsAfter)
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/regulation")
}
