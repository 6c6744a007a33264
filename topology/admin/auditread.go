package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicehq/sluice/topology/tables"
)

// Filter selects audit entries; zero fields select everything.
type Filter struct {
	// Holder is the exact holder of the token used.
	Holder string
	// Subject is a subject id the action named (filing, export).
	Subject string
	// Regulation is the regulation id an action filed, read or erased.
	Regulation string
	// Since drops actions that began before it.
	Since time.Time
}

// early reports whether a begin or once record may match; Regulation is
// checked on the whole entry, the id of a filing being in its end record.
func (f Filter) early(r *Record) bool {
	if f.Holder != "" && r.Holder != f.Holder {
		return false
	}
	if !f.Since.IsZero() && r.At.Before(f.Since) {
		return false
	}
	if f.Subject != "" && !slices.Contains(r.SubjectIDs, f.Subject) {
		return false
	}
	return true
}

// Entry is one action of the audit trail: its begin record completed by its
// end record, or a once record.
type Entry struct {
	Record
	// EndedAt is when the end record was written; nil for a once record or
	// an action whose outcome was never recorded.
	EndedAt *time.Time `json:"endedAt,omitempty"`
	// Unfinished marks a begin record without an end: the request was
	// still running when the trail was read, or its process stopped.
	Unfinished bool `json:"unfinished,omitempty"`
}

// ReadAudit reads the audit topic from its start to its end at the time of
// the call (committed records only) and returns the entries f selects,
// oldest first. A record it cannot read is skipped and counted in skipped.
func ReadAudit(ctx context.Context, seeds []string, opts []kgo.Opt, topic string, f Filter) (entries []Entry, skipped int, err error) {
	var (
		mu      sync.Mutex
		pending = map[string]*Entry{}
		order   []*Entry
	)
	handle := func(key, value []byte) {
		var r Record
		if value == nil || json.Unmarshal(value, &r) != nil || r.ID == "" {
			skipped++
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch r.Phase {
		case PhaseBegin:
			if f.early(&r) {
				e := &Entry{Record: r, Unfinished: true}
				pending[r.ID] = e
				order = append(order, e)
			}
		case PhaseEnd:
			if e, ok := pending[r.ID]; ok {
				delete(pending, r.ID)
				e.finish(&r)
			}
		default:
			if f.early(&r) {
				order = append(order, &Entry{Record: r})
			}
		}
	}
	fl, err := tables.New(seeds, map[string]tables.Handler{topic: handle}, opts...)
	if err != nil {
		return nil, 0, err
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = fl.Run(runCtx) }()
	err = fl.CatchUp(ctx)
	stop()
	<-done
	if err != nil {
		return nil, 0, fmt.Errorf("admin: reading the audit topic %s: %w", topic, err)
	}
	for _, e := range order {
		if f.Regulation == "" || e.RegulationID == f.Regulation {
			entries = append(entries, *e)
		}
	}
	slices.SortStableFunc(entries, func(a, b Entry) int { return a.At.Compare(b.At) })
	return entries, skipped, nil
}

// finish completes a begin entry with its end record.
func (e *Entry) finish(end *Record) {
	e.Unfinished = false
	at := end.At
	e.EndedAt = &at
	e.Status, e.Rows = end.Status, end.Rows
	if end.RegulationID != "" {
		e.RegulationID = end.RegulationID
	}
	if end.Plan != "" {
		e.Plan, e.PlanVersion = end.Plan, end.PlanVersion
	}
	if end.Detail != "" {
		if e.Detail != "" {
			e.Detail += "; "
		}
		e.Detail += end.Detail
	}
}

// maxLineSubjects caps the subject ids one line shows; --json shows all.
const maxLineSubjects = 10

// Line renders the entry on one line: when, who (holder, token, role), from
// where, what, whose data, and how it ended.
func (e Entry) Line() string {
	var b strings.Builder
	b.WriteString(e.At.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "  %s", e.Holder)
	var who []string
	for _, s := range []string{e.TokenID, string(e.Role), e.Principal} {
		if s != "" && s != e.Holder {
			who = append(who, s)
		}
	}
	if len(who) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(who, ", "))
	}
	if e.Remote != "" {
		fmt.Fprintf(&b, " from %s", printable(e.Remote))
		if e.Via != "" {
			fmt.Fprintf(&b, " via %s", printable(e.Via))
		}
	}
	switch {
	case e.Route == "":
		fmt.Fprintf(&b, "  %s", e.Action)
	case e.Action == ActionUnauthorizedToken:
		fmt.Fprintf(&b, "  %s %s", e.Action, e.Route)
	default:
		fmt.Fprintf(&b, "  %s", e.Route)
	}
	switch {
	case e.Unfinished:
		b.WriteString(" → no outcome recorded")
	case e.Status != 0:
		fmt.Fprintf(&b, " → %d", e.Status)
	}
	if e.Rows != nil {
		fmt.Fprintf(&b, " rows=%d", *e.Rows)
	}
	if e.RegulationID != "" {
		fmt.Fprintf(&b, " regulation=%s", printable(e.RegulationID))
	}
	if e.RegulationType != "" {
		fmt.Fprintf(&b, " type=%s", e.RegulationType)
	}
	if e.Plan != "" {
		fmt.Fprintf(&b, " plan=%s", printable(e.Plan))
		if e.PlanVersion > 0 {
			fmt.Fprintf(&b, " version=%d", e.PlanVersion)
		}
	}
	if e.Token != nil {
		fmt.Fprintf(&b, " token=%s holder=%s role=%s", e.Token.ID, e.Token.Holder, e.Token.Role)
	}
	if e.Destination != "" {
		fmt.Fprintf(&b, " destination=%s", printable(e.Destination))
	}
	if e.Filter != "" {
		fmt.Fprintf(&b, " filter(%s)", printable(e.Filter))
	}
	for _, k := range slices.Sorted(maps.Keys(e.Counts)) {
		fmt.Fprintf(&b, " %s=%d", k, e.Counts[k])
	}
	if n := len(e.SubjectIDs); n > 0 {
		ids := e.SubjectIDs[:min(n, maxLineSubjects)]
		quoted := make([]string, len(ids))
		for i, id := range ids {
			quoted[i] = strconv.Quote(id)
		}
		fmt.Fprintf(&b, " subjects=%s:%s", e.SubjectType, strings.Join(quoted, ","))
		if n > maxLineSubjects {
			fmt.Fprintf(&b, " (+%d more, see --json)", n-maxLineSubjects)
		}
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", printable(e.Detail))
	}
	if e.Server != "" {
		fmt.Fprintf(&b, " [%s]", e.Server)
	}
	return b.String()
}

// printable quotes s when it holds a character a terminal would act on:
// ids come from requests.
func printable(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return strconv.Quote(s)
	}
	return s
}
