package deadletters

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Filter selects dead letters; zero fields select everything.
type Filter struct {
	// Origin keeps the letters of one role (sink, router, api).
	Origin Origin `json:"origin,omitempty"`
	// Destination keeps the sink letters of one destination.
	Destination string `json:"destination,omitempty"`
	// Reason keeps the letters of one reason, exactly as listed.
	Reason string `json:"reason,omitempty"`
	// Since and Until keep the letters written in [Since, Until).
	Since time.Time `json:"since,omitzero"`
	Until time.Time `json:"until,omitzero"`
}

// maxFilterText bounds a filter field's length.
const maxFilterText = 1024

// check names the first bad field.
func (f Filter) check() error {
	switch {
	case f.Origin != "" && !f.Origin.valid():
		return &fieldError{"origin", fmt.Sprintf("origin %q: want sink, router or api", f.Origin)}
	case len(f.Destination) > maxFilterText:
		return &fieldError{"destination", "destination: too long"}
	case len(f.Reason) > maxFilterText:
		return &fieldError{"reason", "reason: too long"}
	case !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until):
		return &fieldError{"until", "until must be after since"}
	}
	return nil
}

// inTime reports whether a letter written at t is in [Since, Until).
func (f Filter) inTime(t time.Time) bool {
	return (f.Since.IsZero() || !t.Before(f.Since)) && (f.Until.IsZero() || t.Before(f.Until))
}

// matches reports whether f selects l.
func (f Filter) matches(l *Letter) bool {
	switch {
	case !f.inTime(l.At):
		return false
	case f.Origin != "" && l.Origin != f.Origin:
		return false
	case f.Destination != "" && l.Destination != f.Destination:
		return false
	case f.Reason != "" && l.Reason != f.Reason:
		return false
	}
	return true
}

// String is the filter as an audit record shows it, e.g.
// `destination=crm reason="HTTP 4xx: …" since=2026-12-05T00:00:00Z`, values
// quoted when they hold a space, a quote or an unprintable character; empty
// for no filter.
func (f Filter) String() string {
	var parts []string
	add := func(k, v string) {
		if v == "" {
			return
		}
		if q := strconv.Quote(v); q[1:len(q)-1] != v || strings.ContainsAny(v, " =") {
			v = q
		}
		parts = append(parts, k+"="+v)
	}
	add("origin", string(f.Origin))
	add("destination", f.Destination)
	add("reason", f.Reason)
	if !f.Since.IsZero() {
		parts = append(parts, "since="+f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until="+f.Until.UTC().Format(time.RFC3339Nano))
	}
	return strings.Join(parts, " ")
}

// Query is f as the query string of GET /v1/deadletters.
func (f Filter) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("origin", string(f.Origin))
	set("destination", f.Destination)
	set("reason", f.Reason)
	if !f.Since.IsZero() {
		q.Set("since", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// parseFilter reads a filter from a query string (see Filter.Query).
func parseFilter(q url.Values) (Filter, error) {
	f := Filter{Origin: Origin(q.Get("origin")), Destination: q.Get("destination"), Reason: q.Get("reason")}
	var err error
	if f.Since, err = parseTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = parseTime(q, "until"); err != nil {
		return f, err
	}
	return f, f.check()
}

// parseTime reads an RFC 3339 time parameter; absent is the zero time.
func parseTime(q url.Values, name string) (time.Time, error) {
	s := q.Get(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return t, &fieldError{name, fmt.Sprintf("%s %q: want an RFC 3339 time such as 2026-12-05T10:00:00Z", name, s)}
	}
	return t, nil
}

// fieldError is a bad request parameter.
type fieldError struct{ field, msg string }

func (e *fieldError) Error() string { return e.msg }
