package deadletters

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/processors/shred"
	"github.com/sluicehq/sluice/processors/suppress"
	"github.com/sluicehq/sluice/schemas"
	"github.com/sluicehq/sluice/topology/tables"
	"github.com/sluicehq/sluice/topology/topics"
)

// privacyTables are the tables a read needs: the data keys (nil with
// encryption disabled) and, for a replay, who is suppressed.
type privacyTables struct {
	keys  *shred.Table
	stage *suppress.Stage // nil: not read
}

// readTables reads the keys topic, and with suppression the suppressions
// and identities topics, to their ends at the time of the call.
func (s *Service) readTables(ctx context.Context, suppression bool) (*privacyTables, error) {
	t := &privacyTables{}
	handlers := map[string]tables.Handler{}
	var marks []interface{ MarkCaughtUp() }
	apply := func(name string, fn func(k, v []byte) error) tables.Handler {
		return func(k, v []byte) {
			if err := fn(k, v); err != nil {
				s.log.Warn("deadletters: skipping an unreadable table record", "table", name, "error", err)
			}
		}
	}
	if s.cfg.Keyring != nil {
		t.keys = shred.NewTable(s.cfg.Keyring)
		handlers[s.names.Of(topics.Keys)] = apply("keys", t.keys.Apply)
		marks = append(marks, t.keys)
	}
	if suppression {
		h := suppress.NewHasher()
		table, ids := suppress.NewTable(h), suppress.NewIdentities(h)
		t.stage, _ = suppress.NewStage(table, ids) // one hasher: cannot fail
		handlers[s.names.Of(topics.Suppressions)] = apply("suppressions", table.Apply)
		handlers[s.names.Of(topics.Identities)] = apply("identities", ids.Apply)
		marks = append(marks, table, ids)
	}
	if len(handlers) == 0 {
		return t, nil
	}
	f, err := tables.New(s.cfg.Seeds, handlers, s.cfg.ClientOpts...)
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(runCtx) }()
	err = f.CatchUp(ctx)
	stop()
	<-done
	if err != nil {
		return nil, fmt.Errorf("deadletters: reading the tables: %w", err)
	}
	for _, m := range marks {
		m.MarkCaughtUp()
	}
	return t, nil
}

// unreadableGroups count unreadable letters by why.
type unreadableGroups map[string]*Group

// snapshot is the deadletter topic as one read saw it.
type snapshot struct {
	// letters are the readable letters the filter selects, oldest first.
	letters []*Letter
	// unreadable counts, by reason, the letters written in the filter's
	// time range that could not be opened or read (their origin and
	// destination are inside them).
	unreadable unreadableGroups
	// keyed counts, by reason, the unreadable letters that carry an
	// event's key: only sink letters do (api and router letters have none).
	keyed map[string]int
	// replays names, per letter ID, the replays that re-delivered it, with
	// their times (markers of one letter may sit on different
	// partitions, so the read order is not the order they were written).
	replays map[string][]replayed
}

// replayed is one replay of a letter: its id and when it ran (the marker's
// At, to the nanosecond).
type replayed struct {
	at time.Time
	id string
}

// read reads the deadletter topic from its start to its end at the time of
// the call (committed records only). keepEvents keeps the letters' events
// and payloads in memory; without it only their metadata is kept.
func (s *Service) read(ctx context.Context, f Filter, t *privacyTables, keepEvents bool) (*snapshot, error) {
	snap := &snapshot{unreadable: unreadableGroups{}, keyed: map[string]int{}, replays: map[string][]replayed{}}
	err := s.eachRecord(ctx, s.names.Of(topics.DeadLetter), func(r *kgo.Record) {
		if m, ok := readMarker(r); ok {
			for _, id := range m.Letters {
				snap.replays[id] = append(snap.replays[id], replayed{m.At, m.Replay})
			}
			return
		}
		if !f.inTime(r.Timestamp) {
			return
		}
		l, reason := open(r, t.keys)
		if l == nil {
			g := snap.unreadable[reason]
			if g == nil {
				g = &Group{Reason: reason}
				snap.unreadable[reason] = g
			}
			g.add(r.Timestamp, false)
			if len(r.Key) > 0 {
				snap.keyed[reason]++
			}
			return
		}
		if !f.matches(l) {
			return
		}
		if !keepEvents {
			l.payload, l.event = "", schemas.Event{}
		}
		snap.letters = append(snap.letters, l)
	})
	if err != nil {
		return nil, err
	}
	for _, l := range snap.letters {
		rs := snap.replays[l.ID]
		slices.SortStableFunc(rs, func(a, b replayed) int { return a.at.Compare(b.at) })
		for _, r := range rs {
			l.Replays = append(l.Replays, r.id)
		}
	}
	slices.SortStableFunc(snap.letters, func(a, b *Letter) int { return a.At.Compare(b.At) })
	return snap, nil
}

// Unreadable reasons besides shred.Reason's.
const (
	reasonUndecodable = "undecodable"
	reasonNoKeyring   = "sealed_without_keyring"
)

// open reads one dead-letter record; with a nil letter, reason says why
// it cannot be read (shred.Reason's labels, reasonUndecodable,
// reasonNoKeyring).
func open(r *kgo.Record, keys *shred.Table) (_ *Letter, reason string) {
	plain := r.Value
	var kid shred.KeyID
	switch {
	case keys != nil:
		var err error
		if plain, kid, err = keys.Open(nil, r.Value); err != nil {
			return nil, shred.Reason(err)
		}
	case shred.IsSealed(r.Value):
		return nil, reasonNoKeyring
	}
	l, err := decodeLetter(plain)
	if err != nil {
		return nil, reasonUndecodable
	}
	l.ID, l.At, l.key, l.kid = letterID(r.Partition, r.Offset), r.Timestamp.UTC(), r.Key, kid
	return l, ""
}

// eachRecord calls fn for every committed record of topic, from each
// partition's start to its end at the time of the call, in offset order
// per partition.
func (s *Service) eachRecord(ctx context.Context, topic string, fn func(*kgo.Record)) error {
	cl, err := kgo.NewClient(append([]kgo.Opt{
		kgo.SeedBrokers(s.cfg.Seeds...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers count as progress: a partition that ends with
		// one (a replay's marker is written in a transaction) ends.
		kgo.KeepControlRecords(),
	}, s.cfg.ClientOpts...)...)
	if err != nil {
		return fmt.Errorf("deadletters: %w", err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ends, err := adm.ListCommittedOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("deadletters: list the end offsets of %s: %w", topic, err)
	}
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("deadletters: list the start offsets of %s: %w", topic, err)
	}
	end, left := map[int32]int64{}, 0
	ends.Each(func(o kadm.ListedOffset) {
		if st, ok := starts.Lookup(o.Topic, o.Partition); ok && st.Offset < o.Offset {
			end[o.Partition] = o.Offset
			left++
		}
	})
	done := map[int32]bool{}
	for left > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("deadletters: reading %s: %w", topic, context.Cause(ctx))
		}
		fs.EachRecord(func(r *kgo.Record) {
			if done[r.Partition] || r.Offset >= end[r.Partition] {
				return
			}
			if !r.Attrs.IsControl() {
				fn(r)
			}
			if r.Offset+1 >= end[r.Partition] {
				done[r.Partition] = true
				left--
			}
		})
	}
	return nil
}

// add counts one more letter written at t; replayed counts it as
// replayed too.
func (g *Group) add(t time.Time, replayed bool) {
	t = t.UTC()
	if g.Count == 0 || t.Before(g.First) {
		g.First = t
	}
	if g.Count == 0 || t.After(g.Last) {
		g.Last = t
	}
	g.Count++
	if replayed {
		g.Replayed++
	}
}
