package topics

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes one line per topic: what Apply would do (done false, the
// output of `sluice topics plan`) or what it did (done true).
func (s Steps) WriteText(w io.Writer, done bool) error {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, st := range s {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", st.verb(done), st.Spec.Name, st.details())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// An ok line has no details; tabwriter pads it anyway.
	for line := range bytes.Lines(b.Bytes()) {
		if _, err := fmt.Fprintf(w, "%s\n", bytes.TrimRight(line, " \n")); err != nil {
			return err
		}
	}
	return nil
}

func (st Step) verb(done bool) string {
	if !done {
		return st.Action.String()
	}
	if st.Err != nil {
		return "failed"
	}
	return [...]string{"ok", "created", "altered", "kept", "refused"}[st.Action]
}

func (st Step) details() string {
	if st.Err != nil {
		return st.Err.Error()
	}
	if st.Action == Create {
		return st.Spec.describe()
	}
	var parts []string
	following := 0
	for _, d := range st.Diffs {
		if d.Reason == reasonFollows {
			following++
			continue
		}
		parts = append(parts, d.String())
	}
	if following > 0 {
		parts = append(parts, fmt.Sprintf("%d other config%s differ%s (left %s)", following, plural(following), singular(following), reasonFollows))
	}
	return strings.Join(parts, "; ")
}

// describe lists what a new topic gets.
func (s Spec) describe() string {
	var b strings.Builder
	if s.Partitions > 0 {
		fmt.Fprintf(&b, "%d partitions", s.Partitions)
	} else {
		b.WriteString("default partitions")
	}
	if s.ReplicationFactor > 0 {
		fmt.Fprintf(&b, ", replication %d", s.ReplicationFactor)
	} else {
		b.WriteString(", default replication")
	}
	wanted := s.Wanted()
	for _, k := range slices.Sorted(maps.Keys(wanted)) {
		fmt.Fprintf(&b, ", %s=%s", k, value(k, wanted[k]))
	}
	return b.String()
}

// String is "key current → wanted", or for a difference Apply leaves
// "key current, want wanted (left: reason)".
func (d Diff) String() string {
	cur, want := value(d.Key, d.Current), value(d.Key, d.Wanted)
	if d.Manual {
		return fmt.Sprintf("%s %s, want %s (left: %s)", d.Key, cur, want, d.Reason)
	}
	return fmt.Sprintf("%s %s → %s", d.Key, cur, want)
}

// value shows a config value for people: "unset" for none, and durations in
// milliseconds with their readable form, "604800000 (7d)".
func value(key, v string) string {
	if v == "" {
		return "unset"
	}
	if !strings.HasSuffix(key, ".ms") {
		return v
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil || ms <= 0 {
		return v
	}
	d := time.Duration(ms) * time.Millisecond
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d%u.unit == 0 {
			return fmt.Sprintf("%s (%d%s)", v, d/u.unit, u.name)
		}
	}
	return v
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// singular is the verb ending of a present-tense verb with n subjects.
func singular(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}
