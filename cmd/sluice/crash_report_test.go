package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// chDuplicate is a message_id with more than one row in one table.
type chDuplicate struct {
	table, messageID string
	rows             int
	lastLoaded       time.Time // when its latest copy was inserted
}

// warehouseDuplicates lists, in every table of the database that has a
// message_id column, the message_ids with more than one row, read as an
// analyst reads them: a plain SELECT, no FINAL.
func warehouseDuplicates(t *testing.T, ch clickhouse) []chDuplicate {
	t.Helper()
	tables := strings.Fields(ch.query(t, "SELECT DISTINCT table FROM system.columns WHERE database = 'sluice' AND name = 'message_id' ORDER BY table FORMAT TSV"))
	if len(tables) < len(mpCoreTables) {
		t.Fatalf("tables with a message_id column: %v; want at least the event tables", tables)
	}
	var dups []chDuplicate
	for _, table := range tables {
		out := ch.query(t, "SELECT message_id, count() AS n, toUnixTimestamp64Milli(max(loaded_at)) FROM "+table+
			" GROUP BY message_id HAVING n > 1 ORDER BY message_id FORMAT TSV")
		for line := range strings.Lines(out) {
			f := strings.Split(strings.TrimSpace(line), "\t")
			if len(f) != 3 {
				t.Fatalf("duplicates of %s: unexpected line %q", table, line)
			}
			n, _ := strconv.Atoi(f[1])
			ms, _ := strconv.ParseInt(f[2], 10, 64)
			dups = append(dups, chDuplicate{table: table, messageID: f[0], rows: n, lastLoaded: time.UnixMilli(ms)})
		}
	}
	return dups
}

// extraRows counts the rows beyond the first of each duplicate.
func extraRows(dups []chDuplicate) int {
	n := 0
	for _, d := range dups {
		n += d.rows - 1
	}
	return n
}

// describeWarehouseDuplicates renders where the copies of the first few
// duplicates came from: topic, partition, offset and insert time.
func describeWarehouseDuplicates(t *testing.T, ch clickhouse, dups []chDuplicate) string {
	t.Helper()
	byTable := map[string][]string{}
	for _, d := range dups {
		byTable[d.table] = append(byTable[d.table], d.messageID)
	}
	var b strings.Builder
	for _, table := range slices.Sorted(maps.Keys(byTable)) {
		ids := byTable[table]
		fmt.Fprintf(&b, "%s: %d message_ids; (message_id, kafka_topic, kafka_partition, kafka_offset, loaded_at) of the first:\n", table, len(ids))
		b.WriteString(ch.query(t, "SELECT message_id, kafka_topic, kafka_partition, kafka_offset, loaded_at FROM "+table+
			" WHERE message_id IN "+sqlList(ids[:min(len(ids), 10)])+" ORDER BY message_id, loaded_at FORMAT TSV"))
		b.WriteString("\n")
	}
	return b.String()
}

// describeHookDuplicates renders the keys that brought each of ids, with
// how often and when.
func describeHookDuplicates(hook *hookReceiver, ids []string) string {
	var b strings.Builder
	for _, id := range ids {
		fmt.Fprintf(&b, "%s:", id)
		for _, s := range sortedSightings(hook.sightings(id)) {
			fmt.Fprintf(&b, " %s ×%d first at %s;", s.key, s.count, s.first.Format("15:04:05.000"))
		}
		b.WriteString("\n")
	}
	return b.String()
}

type keyedSighting struct {
	key string
	hookSighting
}

// sortedSightings orders a messageId's keys by their first arrival.
func sortedSightings(byKey map[string]hookSighting) []keyedSighting {
	var out []keyedSighting
	for k, s := range byKey {
		out = append(out, keyedSighting{k, s})
	}
	slices.SortFunc(out, func(a, b keyedSighting) int { return a.first.Compare(b.first) })
	return out
}

// killBlame is, per kill number, the copies that arrived after it and
// before the next one (kill 0: before any kill).
type killBlame map[int]*blamed

type blamed struct {
	chRows map[string]int // table → extra rows
	recut  int            // webhook messageIds re-sent in a batch cut differently
	copies int            // webhook messageIds re-sent from another offset
}

// blameKills assigns each copy to the last kill before the copy arrived:
// a warehouse row by its loaded_at, a webhook copy by the first arrival of
// its newest key.
func blameKills(kills []crashKill, chDups []chDuplicate, hook *hookReceiver, recut, copies []string) killBlame {
	blame := killBlame{}
	at := func(tm time.Time) *blamed {
		n := 0
		for _, k := range kills {
			if !k.at.After(tm) {
				n = k.n
			}
		}
		if blame[n] == nil {
			blame[n] = &blamed{chRows: map[string]int{}}
		}
		return blame[n]
	}
	for _, d := range chDups {
		at(d.lastLoaded).chRows[d.table] += d.rows - 1
	}
	newest := func(id string) time.Time {
		s := sortedSightings(hook.sightings(id))
		return s[len(s)-1].first
	}
	for _, id := range recut {
		at(newest(id)).recut++
	}
	for _, id := range copies {
		at(newest(id)).copies++
	}
	return blame
}

// kills counts the kills that copies followed.
func (kb killBlame) kills() int {
	n := len(kb)
	if kb[0] != nil {
		n--
	}
	return n
}

// String renders the blame per kill, with each kill's mode.
func (kb killBlame) String(kills []crashKill) string {
	var b strings.Builder
	for _, n := range slices.Sorted(maps.Keys(kb)) {
		mode := "before any kill"
		if n > 0 {
			mode = kills[n-1].mode
		}
		fmt.Fprintf(&b, "; kill %d (%s): ClickHouse extra rows %v, webhook messageIds under another key: %d re-cut, %d from another offset",
			n, mode, kb[n].chRows, kb[n].recut, kb[n].copies)
	}
	return b.String()
}

// keyRange reads the partition and offset range from a batch's
// Idempotency-Key, "<topic>/<partition>/<first>-<last>/<events>/<hash>". The
// contract calls the key opaque: the test reads it only to explain copies.
func keyRange(key string) (partition string, first, last int64, ok bool) {
	f := strings.Split(key, "/")
	if len(f) < 5 {
		return "", 0, 0, false
	}
	lo, hi, found := strings.Cut(f[len(f)-3], "-")
	first, err1 := strconv.ParseInt(lo, 10, 64)
	last, err2 := strconv.ParseInt(hi, 10, 64)
	return strings.Join(f[:len(f)-3], "/"), first, last, found && err1 == nil && err2 == nil
}

// splitManyKeys sorts messageIds that came under several keys into re-cut
// (every key's range on one partition, all overlapping: one record sent
// again in a batch cut differently) and copies (the event at another
// offset too, e.g. routed twice), by reading the keys.
func splitManyKeys(hook *hookReceiver, ids []string) (recut, copies []string) {
	for _, id := range ids {
		sameRecord := true
		var ranges [][2]int64
		var partition string
		for key := range hook.sightings(id) {
			p, first, last, ok := keyRange(key)
			if !ok || (partition != "" && p != partition) {
				sameRecord = false
				break
			}
			partition = p
			for _, r := range ranges {
				if first > r[1] || last < r[0] {
					sameRecord = false
				}
			}
			ranges = append(ranges, [2]int64{first, last})
		}
		if sameRecord {
			recut = append(recut, id)
		} else {
			copies = append(copies, id)
		}
	}
	return recut, copies
}
